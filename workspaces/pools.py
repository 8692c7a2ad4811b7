"""Managing a workspace's pools: create, list, get, update, delete, enable, disable, import.

A pool says how workers are launched for the workspace on demand (SPEC §3.14); the
orchestrator decides when (``runs.orchestration.pools``). Every change wakes it, so that it
sees the pool as it now is: a pool disabled, deleted or changed to host other modules drains
the workers it launched.

The launcher types a server may use are listed in ``COFLUX_LAUNCHER_TYPES``; a pool of another
type is refused, since nothing would ever launch its workers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from projects.errors import Code, DomainError
from projects.mailbox import wake_after_commit
from workspaces import pool_fields
from workspaces.models import Launch, Pool, Workspace

NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")
RESERVED = frozenset({"export", "import"})
"""Names the API's paths use (``pools/export``, ``pools/import``)."""
MAX_TAGS = 100
LAUNCHES_SHOWN = 100
"""The newest launches of a pool that ``pools launches`` shows."""


class PoolNotFound(DomainError):
    code = Code.NOT_FOUND


# --- reading -----------------------------------------------------------------------------


def list_pools(workspace: Workspace) -> list[Pool]:
    return list(workspace.pools.order_by("name"))


def pool_named(workspace: Workspace, name: str) -> Pool:
    pool = workspace.pools.filter(name=name).first() if isinstance(name, str) else None
    if pool is None:
        raise PoolNotFound(
            f"No pool named {name!r} in workspace {workspace.name!r}.", details={"pool": name}
        )
    return pool


def pool_launches(workspace: Workspace, name: str) -> list[Launch]:
    """The pool's launched workers, newest first."""
    pool = pool_named(workspace, name)
    return list(pool.launches.order_by("-created_at", "-id")[:LAUNCHES_SHOWN])


# --- changing ----------------------------------------------------------------------------


def create_pool(
    workspace: Workspace,
    name: str,
    pool_type: str,
    *,
    modules: list[str] | None = None,
    provides: Mapping[str, Any] | None = None,
    accepts: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Pool:
    """A new pool of the workspace; ``already_exists`` if it has one of that name."""
    _check_name(name)
    _check_type(pool_type)
    config: dict[str, Any] = {}
    pool_fields.apply_set(pool_type, config, fields or {})
    pool_fields.check_complete(pool_type, config)
    pool = Pool(
        workspace=workspace,
        name=name,
        type=pool_type,
        modules=check_modules(modules or []),
        provides=check_tags(provides or {}, "provides"),
        accepts=check_tags(accepts or {}, "accepts"),
        config=config,
    )
    try:
        with transaction.atomic():
            pool.save()
    except IntegrityError:
        raise _exists(workspace, name) from None
    wake_after_commit(workspace.project_id)
    return pool


def update_pool(
    workspace: Workspace,
    name: str,
    *,
    set_fields: Mapping[str, Any] | None = None,
    unset: list[str] | None = None,
    modules: list[str] | None = None,
    provides: Mapping[str, Any] | None = None,
    accepts: Mapping[str, Any] | None = None,
) -> Pool:
    """Merge changes into the pool: fields set or unset, the rest kept; ``modules``,
    ``provides`` and ``accepts`` replaced when given (``{}`` clears tags)."""
    with transaction.atomic():
        pool = _locked(workspace, name)
        config = dict(pool.config)
        pool_fields.apply_set(pool.type, config, set_fields or {})
        pool_fields.apply_unset(pool.type, config, unset or [])
        pool_fields.check_complete(pool.type, config)
        pool.config = config
        if modules is not None:
            pool.modules = check_modules(modules)
        if provides is not None:
            pool.provides = check_tags(provides, "provides")
        if accepts is not None:
            pool.accepts = check_tags(accepts, "accepts")
        pool.updated_at = timezone.now()
        pool.save()
    wake_after_commit(workspace.project_id)
    return pool


def set_pool_state(workspace: Workspace, name: str, state: Pool.State) -> Pool:
    """Enable or disable the pool; a disabled pool launches nothing and its workers drain."""
    with transaction.atomic():
        pool = _locked(workspace, name)
        if state == Pool.State.ACTIVE:
            _check_type(pool.type)
        pool.state = state
        pool.updated_at = timezone.now()
        pool.save(update_fields=["state", "updated_at"])
    wake_after_commit(workspace.project_id)
    return pool


def delete_pool(workspace: Workspace, name: str) -> None:
    """Delete the pool; the workers it launched drain and stop (their launches stay listed
    under the pool's name)."""
    pool_named(workspace, name).delete()
    wake_after_commit(workspace.project_id)


class ImportPlan(TypedDict):
    created: list[str]
    updated: list[str]
    unchanged: list[str]


def import_pools(
    workspace: Workspace,
    pools: Mapping[str, Any],
    *,
    only: list[str] | None = None,
    dry_run: bool = False,
) -> ImportPlan:
    """Make the workspace's pools what ``pools`` describes (``{name: {type, modules,
    provides, accepts, state, fields}}``, as ``pools export`` writes): missing ones are
    created, differing ones replaced; pools not named are left alone. All or nothing.

    Secret fields are not exported: one absent from the description keeps its current value.
    """
    if not isinstance(pools, Mapping):
        raise pool_fields.InvalidField("'pools' must map pool names to pools.")
    chosen = {name: pools[name] for name in pools if not only or name in only}
    missing = [name for name in only or [] if name not in pools]
    if missing:
        raise PoolNotFound(f"No pool named {missing[0]!r} to import.", details={"pool": missing[0]})
    plan: ImportPlan = {"created": [], "updated": [], "unchanged": []}
    with transaction.atomic():
        for name, description in sorted(chosen.items()):
            wanted = _described(name, description)
            existing = workspace.pools.select_for_update().filter(name=name).first()
            if existing is not None:
                for secret in pool_fields.SECRET & existing.config.keys():
                    if existing.type == wanted.type:
                        wanted.config.setdefault(secret, existing.config[secret])
            pool_fields.check_complete(wanted.type, wanted.config)
            if existing is None:
                plan["created"].append(name)
                wanted.workspace = workspace
                if not dry_run:
                    wanted.save()
            elif _same(existing, wanted):
                plan["unchanged"].append(name)
            else:
                plan["updated"].append(name)
                for attribute in ("type", "modules", "provides", "accepts", "config", "state"):
                    setattr(existing, attribute, getattr(wanted, attribute))
                existing.updated_at = timezone.now()
                if not dry_run:
                    existing.save()
        if not dry_run and (plan["created"] or plan["updated"]):
            wake_after_commit(workspace.project_id)
    return plan


def export_pools(workspace: Workspace, only: list[str] | None = None) -> dict[str, Any]:
    """The workspace's pools as ``import_pools`` takes them (secret fields left out)."""
    for name in only or []:
        pool_named(workspace, name)
    exported: dict[str, Any] = {}
    for pool in workspace.pools.order_by("name"):
        if only and pool.name not in only:
            continue
        exported[pool.name] = {
            "type": pool.type,
            "state": pool.state,
            "modules": list(pool.modules),
            "provides": dict(pool.provides),
            "accepts": dict(pool.accepts),
            "fields": {k: v for k, v in pool.config.items() if k not in pool_fields.SECRET},
        }
    return exported


# --- checks ------------------------------------------------------------------------------


def check_modules(modules: Any) -> list[str]:
    if not isinstance(modules, list) or not all(
        isinstance(m, str) and m and len(m) <= 255 and "\x00" not in m for m in modules
    ):
        raise pool_fields.InvalidField("'modules' must be a list of module names.")
    return list(dict.fromkeys(modules))


def check_tags(tags: Any, what: str) -> dict[str, list[str]]:
    """Tags as ``{key: [value, …]}``; text in the CLI's syntax (``gpu:A100,fast``) is read
    the same way."""
    if isinstance(tags, str):
        tags = parse_tags(tags)
    message = f"'{what}' must map tag names to lists of text."
    if not isinstance(tags, Mapping) or len(tags) > MAX_TAGS:
        raise pool_fields.InvalidField(message)
    checked: dict[str, list[str]] = {}
    for key, values in tags.items():
        if not isinstance(key, str) or not key or len(key) > 100:
            raise pool_fields.InvalidField(message)
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise pool_fields.InvalidField(message)
        checked[key] = list(dict.fromkeys(values))
    return checked


def parse_tags(text: str) -> dict[str, list[str]]:
    """``gpu:A100,gpu:H100,fast`` → ``{"gpu": ["A100", "H100"], "fast": ["true"]}``."""
    tags: dict[str, list[str]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition(":")
        tags.setdefault(key.strip(), []).append(value.strip() if sep else "true")
    return tags


def launcher_types() -> frozenset[str]:
    """The launcher types this server may use (``COFLUX_LAUNCHER_TYPES``)."""
    return frozenset(settings.COFLUX_LAUNCHER_TYPES)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name) or name in RESERVED:
        raise pool_fields.InvalidField(
            f"Invalid pool name {name!r}: letters, digits, '_' and '-', at most 100, "
            "and neither 'export' nor 'import'.",
            details={"pool": name},
        )


def _check_type(pool_type: Any) -> None:
    if pool_type not in Pool.Type.values:
        raise pool_fields.InvalidField(
            f"Unknown pool type {pool_type!r} (process, docker or kubernetes)."
        )
    if pool_type not in launcher_types():
        allowed = ", ".join(sorted(launcher_types())) or "none"
        raise DomainError(
            f"This server does not launch {pool_type} workers (COFLUX_LAUNCHER_TYPES: {allowed}).",
            code=Code.INVALID_REQUEST,
            details={"field": "type"},
        )


def _exists(workspace: Workspace, name: str) -> DomainError:
    return DomainError(
        f"A pool named {name!r} already exists in workspace {workspace.name!r}.",
        code=Code.ALREADY_EXISTS,
        details={"pool": name},
    )


def _locked(workspace: Workspace, name: str) -> Pool:
    """The pool, locked against a concurrent change until the transaction ends."""
    pool_named(workspace, name)
    return workspace.pools.select_for_update().get(name=name)


def _described(name: str, description: Any) -> Pool:
    """An unsaved pool from an exported description, checked as ``create_pool`` checks."""
    _check_name(name)
    if not isinstance(description, Mapping):
        raise pool_fields.InvalidField(f"Pool {name!r} must be a table of its settings.")
    unknown = set(description) - {"type", "state", "modules", "provides", "accepts", "fields"}
    if unknown:
        raise pool_fields.InvalidField(f"Pool {name!r} has an unknown key {sorted(unknown)[0]!r}.")
    pool_type = description.get("type")
    _check_type(pool_type)
    state = description.get("state", Pool.State.ACTIVE)
    if state not in Pool.State.values:
        raise pool_fields.InvalidField(f"Pool {name!r}: state is 'active' or 'disabled'.")
    config: dict[str, Any] = {}
    pool_fields.apply_set(pool_type, config, description.get("fields") or {})
    return Pool(
        name=name,
        type=pool_type,
        state=state,
        modules=check_modules(description.get("modules") or []),
        provides=check_tags(description.get("provides") or {}, "provides"),
        accepts=check_tags(description.get("accepts") or {}, "accepts"),
        config=config,
    )


def _same(existing: Pool, wanted: Pool) -> bool:
    return all(
        getattr(existing, attribute) == getattr(wanted, attribute)
        for attribute in ("type", "modules", "provides", "accepts", "config", "state")
    )
