"""Finding the targets a set of modules defines.

Packages are walked recursively, skipping ``_private`` submodules. A module lists only the
targets defined in it (by the decorated function's module), so re-exports appear once, under
the module that defines them. Stubs are never listed.

``discover_isolated`` imports the modules in a child process, for callers that must not run
user code themselves (the worker's connection process, the CLI when registering).
"""

from __future__ import annotations

import importlib
import multiprocessing
import pkgutil
import traceback
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from types import ModuleType
from typing import Any

from ._targets import registered

Manifest = dict[str, list[dict[str, Any]]]


class DiscoveryError(Exception):
    """Importing the modules failed; the message holds the child's traceback."""


def _submodules(package: ModuleType) -> list[str]:
    names: list[str] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        name = f"{package.__name__}.{info.name}"
        names.append(name)
        if info.ispkg:
            names.extend(_submodules(importlib.import_module(name)))
    return names


def discover(modules: list[str]) -> Manifest:
    """``{module: [definition, …]}`` for the named modules and their public submodules.

    Named modules are always listed (possibly with no targets, so registering an emptied
    module clears it); submodules only when they define targets.
    """
    manifest: Manifest = {}
    for name in modules:
        module = importlib.import_module(name)
        manifest[name] = []
        if hasattr(module, "__path__"):
            for submodule in _submodules(module):
                importlib.import_module(submodule)
                manifest.setdefault(submodule, [])
    for name in list(manifest):
        manifest[name] = [target.definition for target in registered(name)]
        if not manifest[name] and name not in modules:
            del manifest[name]
    return manifest


def workflows_manifest(modules: list[str], manifest: Manifest | None = None) -> Manifest:
    """Only the workflows: what gets registered for a workspace."""
    manifest = discover(modules) if manifest is None else manifest
    return {
        module: [target for target in targets if target["type"] == "workflow"]
        for module, targets in manifest.items()
    }


def declarations(manifest: Manifest) -> list[dict[str, Any]]:
    """The ``targets`` of a ``hello`` message."""
    return [
        {
            "module": module,
            "name": target["name"],
            "type": target["type"],
            "parameters": target["parameters"],
        }
        for module, targets in manifest.items()
        for target in targets
    ]


def _discover_child(modules: list[str], connection: Connection) -> None:
    try:
        connection.send(("ok", discover(modules)))
    except BaseException:
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


def discover_isolated(modules: list[str], context: BaseContext | None = None) -> Manifest:
    """``discover`` run in a child process (``spawn`` by default), leaving this one clean."""
    context = context or multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_discover_child, args=(modules, sender), name="coflux-discovery"
    )
    process.start()
    sender.close()
    try:
        status, payload = receiver.recv()
    except EOFError:
        process.join()
        raise DiscoveryError(f"discovery process exited with code {process.exitcode}") from None
    finally:
        receiver.close()
    process.join()
    if status != "ok":
        raise DiscoveryError(payload)
    return payload
