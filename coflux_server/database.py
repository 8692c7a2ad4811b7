"""Reading the database from async views that wait a long time between reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection

P = ParamSpec("P")
T = TypeVar("T")


def releasing(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``fn`` run in a thread, giving its pooled connection back when done.

    A request's connection normally stays with it until the response; one that waits minutes
    for a run to end would keep a connection of the pool (see ``settings``) all that time,
    and a few such waits would starve everyone else.
    """

    @wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            if connection.settings_dict["OPTIONS"].get("pool") and not connection.in_atomic_block:
                connection.close()

    return sync_to_async(call)
