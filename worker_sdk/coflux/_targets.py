"""The ``task``/``workflow``/``stub`` decorators and the ``Target`` objects they make.

Decorating validates and normalises everything at import time, so a mistake (an unknown
parameter name in ``wait=``, a ``*args`` parameter) fails when the module loads rather than
when the server first schedules the target.

Targets made by ``task`` and ``workflow`` are registered under ``(module, name)``; executors and
discovery find them there, so a ``name=`` override is honoured. Stubs and ``with_*`` copies are
never registered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, ParamSpec, TypeVar

from . import _options as opts
from ._current import current
from ._execution import Execution
from ._serialization import is_plain, to_json

P = ParamSpec("P")
T = TypeVar("T")
TargetType = Literal["workflow", "task"]

_registry: dict[tuple[str, str], Target[Any, Any]] = {}


def registered(module: str) -> list[Target[Any, Any]]:
    """Targets defined in ``module``, in definition order."""
    return [target for (owner, _), target in _registry.items() if owner == module]


def lookup(module: str, name: str) -> Target[Any, Any] | None:
    return _registry.get((module, name))


def invoke(fn: Callable[..., Any], arguments: list[Any]) -> Any:
    """Call ``fn``, running a returned coroutine to completion."""
    result = fn(*arguments)
    if not inspect.iscoroutine(result):
        return result
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(result)
    # Called from async code: the coroutine needs an event loop of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, result).result()


def _parameters(fn: Callable[..., Any]) -> list[dict[str, Any]]:
    parameters = []
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            raise TypeError(
                f"{fn.__qualname__}: parameter {parameter.name!r} must be positional-or-keyword "
                "(targets take no *args, **kwargs, keyword-only or positional-only parameters)"
            )
        annotation = parameter.annotation
        if annotation is inspect.Parameter.empty:
            annotation = None
        elif not isinstance(annotation, str):
            annotation = inspect.formatannotation(annotation)
        parameters.append(
            {"name": parameter.name, "annotation": annotation, "default": _default(parameter)}
        )
    return parameters


def _default(parameter: inspect.Parameter) -> str | None:
    """The default as a JSON string, or ``None`` if there is none or it has no encoding."""
    if parameter.default is inspect.Parameter.empty or not is_plain(parameter.default):
        return None
    return json.dumps(to_json(parameter.default))


class Target(Generic[P, T]):
    """A decorated function: call it to run it as a step, or ``submit`` it for a handle."""

    def __init__(
        self,
        fn: Callable[P, T],
        *,
        module: str,
        name: str,
        type: TargetType,
        options: dict[str, Any],
        retries: opts.Retries | None,
        parameters: list[dict[str, Any]],
    ) -> None:
        self._fn = fn
        self._module = module
        self._name = name
        self._type = type
        self._options = options
        self._retries = retries
        self._parameters = parameters
        self._names = [parameter["name"] for parameter in parameters]
        self._signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @property
    def name(self) -> str:
        return self._name

    @property
    def module(self) -> str:
        return self._module

    @property
    def type(self) -> TargetType:
        return self._type

    @property
    def fn(self) -> Callable[P, T]:
        return self._fn

    @property
    def retries(self) -> opts.Retries | None:
        """The retry policy; its ``when`` is evaluated by the executing process."""
        return self._retries

    @property
    def options(self) -> dict[str, Any]:
        """The normalised options sent with each call (shared: do not modify)."""
        return self._options

    @property
    def definition(self) -> dict[str, Any]:
        """The JSON definition declared to the server (a copy)."""
        return {
            "name": self._name,
            "type": self._type,
            "parameters": copy.deepcopy(self._parameters),
            "instruction": inspect.getdoc(self._fn),
            "options": copy.deepcopy(self._options),
        }

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        arguments = self._arguments(args, kwargs)
        context = current()
        if context is None:
            return invoke(self._fn, arguments)
        return context.submit(self, arguments, wait=True).result()

    def submit(self, *args: P.args, **kwargs: P.kwargs) -> Execution[T]:
        arguments = self._arguments(args, kwargs)
        context = current()
        if context is not None:
            return context.submit(self, arguments, wait=False)
        try:
            value = invoke(self._fn, arguments)
        except Exception as exc:
            return Execution.resolved(self._module, self._name, error=exc)
        return Execution.resolved(self._module, self._name, value)

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        if kwargs:
            raise ValueError(
                f"{self._name}: keyword arguments are not supported; pass arguments by position"
            )
        bound = self._signature.bind(*args)
        bound.apply_defaults()
        return list(bound.args)

    # --- modified copies -----------------------------------------------------------------

    def _with(self, policy: opts.Retries | None = None, **changes: Any) -> Target[P, T]:
        clone: Target[P, T] = copy.copy(self)
        clone._options = {**self._options, **changes}
        if "retries" in changes:
            clone._retries = policy
        return clone

    def with_cache(self, cache: Any) -> Target[P, T]:
        return self._with(cache=opts.normalize_cache(cache, self._names))

    def with_retries(self, retries: Any) -> Target[P, T]:
        policy = opts.resolve_retries(retries)
        return self._with(policy, retries=opts.normalize_retries(policy))

    def with_defer(self, defer: Any) -> Target[P, T]:
        return self._with(defer=opts.normalize_defer(defer, self._names))

    def with_memo(self, memo: Any) -> Target[P, T]:
        memo = opts.normalize_memo(memo, self._names, names_allowed=self._type == "task")
        return self._with(memo=memo)

    def with_delay(self, delay: opts.Seconds) -> Target[P, T]:
        return self._with(delay_ms=opts.normalize_duration(delay, "delay"))

    def with_timeout(self, timeout: opts.Seconds) -> Target[P, T]:
        return self._with(timeout_ms=opts.normalize_duration(timeout, "timeout"))

    def with_requires(self, requires: Mapping[str, Any] | None) -> Target[P, T]:
        return self._with(requires=opts.normalize_requires(requires))

    def __repr__(self) -> str:
        return f"<{self._type} {self._module}/{self._name}>"


def _build(
    fn: Callable[P, T],
    *,
    type: TargetType,
    module: str,
    name: str | None,
    wait: Any,
    cache: Any,
    retries: Any,
    recurrent: Any,
    defer: Any,
    delay: Any,
    memo: Any,
    requires: Any,
    timeout: Any,
) -> Target[P, T]:
    if not callable(fn):
        raise TypeError(f"cannot decorate {fn!r}: not a function")
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError("name must be a non-empty string")
    parameters = _parameters(fn)
    names = [parameter["name"] for parameter in parameters]
    policy = opts.resolve_retries(retries)
    options = {
        "wait": opts.normalize_wait(wait, names),
        "cache": opts.normalize_cache(cache, names),
        "retries": opts.normalize_retries(policy),
        "defer": opts.normalize_defer(defer, names),
        "delay_ms": opts.normalize_duration(delay, "delay"),
        # Only a task may memoise on some of its parameters; a workflow memoises all or none.
        "memo": opts.normalize_memo(memo, names, names_allowed=type == "task"),
        "requires": opts.normalize_requires(requires),
        "timeout_ms": opts.normalize_duration(timeout, "timeout"),
        "recurrent": opts.normalize_flag(recurrent, "recurrent"),
    }
    return Target(
        fn,
        module=module,
        name=name or fn.__name__,
        type=type,
        options=options,
        retries=policy,
        parameters=parameters,
    )


def _register(target: Target[Any, Any]) -> None:
    key = (target.module, target.name)
    existing = _registry.get(key)
    # Re-running a module (a reload) redefines the same function; anything else is a clash.
    if existing is not None and existing.fn.__qualname__ != target.fn.__qualname__:
        raise ValueError(
            f"target name {target.name!r} is already used in module {target.module!r} "
            f"by {existing.fn.__qualname__}"
        )
    _registry[key] = target


def _declare(type: TargetType, **options: Any) -> Callable[[Callable[P, T]], Target[P, T]]:
    """The decorator that ``task()`` and ``workflow()`` return: it builds and registers."""

    def decorate(fn: Callable[P, T]) -> Target[P, T]:
        target: Target[P, T] = _build(fn, type=type, module=fn.__module__, **options)
        _register(target)
        return target

    return decorate


def _called_bare(fn: Any, decorator: str) -> None:
    if fn is not None:
        raise TypeError(f"use @cf.{decorator}() with parentheses")


def task(
    _fn: None = None,
    /,
    *,
    name: str | None = None,
    wait: bool | opts.ParamNames = False,
    cache: bool | opts.Seconds | opts.Cache = False,
    retries: bool | int | opts.Retries = 0,
    recurrent: bool = False,
    defer: bool | opts.Defer = False,
    delay: opts.Seconds = 0,
    memo: bool | opts.ParamNames | None = None,
    requires: Mapping[str, Any] | None = None,
    timeout: opts.Seconds = 0,
) -> Callable[[Callable[P, T]], Target[P, T]]:
    """Declare a task. ``memo=None`` leaves memoisation to the run's workflow default."""
    _called_bare(_fn, "task")
    return _declare(
        "task",
        name=name,
        wait=wait,
        cache=cache,
        retries=retries,
        recurrent=recurrent,
        defer=defer,
        delay=delay,
        memo=memo,
        requires=requires,
        timeout=timeout,
    )


def workflow(
    _fn: None = None,
    /,
    *,
    name: str | None = None,
    wait: bool | opts.ParamNames = False,
    cache: bool | opts.Seconds | opts.Cache = False,
    retries: bool | int | opts.Retries = 0,
    recurrent: bool = False,
    defer: bool | opts.Defer = False,
    delay: opts.Seconds = 0,
    memo: bool = False,
    requires: Mapping[str, Any] | None = None,
    timeout: opts.Seconds = 0,
) -> Callable[[Callable[P, T]], Target[P, T]]:
    """Declare a workflow; ``memo=True`` memoises every step of its runs by default."""
    _called_bare(_fn, "workflow")
    return _declare(
        "workflow",
        name=name,
        wait=wait,
        cache=cache,
        retries=retries,
        recurrent=recurrent,
        defer=defer,
        delay=delay,
        memo=memo,
        requires=requires,
        timeout=timeout,
    )


def stub(
    module: str,
    *,
    name: str | None = None,
    type: TargetType = "task",
    wait: bool | opts.ParamNames = False,
    cache: bool | opts.Seconds | opts.Cache = False,
    retries: bool | int | opts.Retries = 0,
    recurrent: bool = False,
    defer: bool | opts.Defer = False,
    delay: opts.Seconds = 0,
    memo: bool | opts.ParamNames | None = None,
) -> Callable[[Callable[P, T]], Target[P, T]]:
    """Refer to a target hosted elsewhere; the body runs only outside an execution."""
    if not isinstance(module, str) or not module:
        raise TypeError("stub() needs the module the target lives in, e.g. @cf.stub('pkg.mod')")
    if type not in ("task", "workflow"):
        raise ValueError("type must be 'task' or 'workflow'")

    def decorate(fn: Callable[P, T]) -> Target[P, T]:
        return _build(
            fn,
            type=type,
            module=module,
            name=name,
            wait=wait,
            cache=cache,
            retries=retries,
            recurrent=recurrent,
            defer=defer,
            delay=delay,
            memo=memo,
            requires=None,
            timeout=0,
        )

    return decorate
