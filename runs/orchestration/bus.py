"""Where messages between worker consumers and orchestrators go.

Across processes they travel over the channel layer: the orchestrator of project ``p`` reads
the channel ``orchestrator.<p>``; each consumer reads its own channel. When both ends live in
this process the message is handed over directly, skipping the layer's copy and queue.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any, Protocol

from channels.layers import get_channel_layer

from projects import mailbox


class Receiver(Protocol):
    async def deliver(self, messages: list[dict[str, Any]]) -> None: ...


_consumers: dict[str, Receiver] = {}


GROUP_PREFIX = "group:"
"""An outbox entry whose channel starts with this is sent to the named group instead."""

REPLY_PREFIX = "reply:"
"""An outbox entry whose channel starts with this answers a command (see
``projects.mailbox``)."""


def register_consumer(channel: str, consumer: Receiver) -> None:
    _consumers[channel] = consumer


def unregister_consumer(channel: str) -> None:
    _consumers.pop(channel, None)


async def to_orchestrator(project_id: int, *envelopes: dict[str, Any]) -> None:
    await mailbox.post_many(project_id, list(envelopes))


async def to_consumers(outbox: list[tuple[str, dict[str, Any]]]) -> None:
    by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for channel, message in outbox:
        by_channel[channel].append(message)
    layer = None
    for channel, messages in by_channel.items():
        if channel.startswith(GROUP_PREFIX):
            layer = layer or get_channel_layer()
            for message in messages:
                await layer.group_send(channel.removeprefix(GROUP_PREFIX), message)
            continue
        if channel.startswith(REPLY_PREFIX):
            layer = layer or get_channel_layer()
            for message in messages:
                with contextlib.suppress(Exception):
                    await layer.send(channel.removeprefix(REPLY_PREFIX), message)
            continue
        consumer = _consumers.get(channel)
        if consumer is not None:
            await consumer.deliver(messages)
            continue
        layer = layer or get_channel_layer()
        try:
            await layer.send(channel, {"type": "worker.send", "messages": messages})
        except Exception:  # a full or vanished channel must not stop the orchestrator
            continue
