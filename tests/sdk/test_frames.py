"""Several protocol messages to a frame."""

from __future__ import annotations

import json

import pytest

from coflux_wire import protocol


def heartbeat(n: int) -> dict:
    return {"type": "heartbeat", "executions": [f"R{i}:1:1" for i in range(n)]}


def test_one_message_travels_as_a_plain_object():
    ((frame, count),) = protocol.encode_frames([heartbeat(1)])
    assert (json.loads(frame), count) == (heartbeat(1), 1)
    assert protocol.messages_of(frame) == [heartbeat(1)]


def test_messages_leaving_together_share_a_frame_in_order():
    messages = [heartbeat(1), {"type": "draining"}, heartbeat(2)]
    ((frame, count),) = protocol.encode_frames(messages)
    assert count == 3
    assert protocol.messages_of(frame) == messages


def test_frames_stay_within_the_size_limit(monkeypatch):
    monkeypatch.setattr(protocol, "MAX_MESSAGE_BYTES", 200)
    messages = [heartbeat(3) for _ in range(10)]
    frames = list(protocol.encode_frames(messages))
    assert len(frames) > 1
    assert sum(count for _, count in frames) == 10
    assert all(len(frame) <= 200 for frame, _ in frames)
    assert [m for frame, _ in frames for m in protocol.messages_of(frame)] == messages


@pytest.mark.parametrize("text", ["[]", "{nope", "x" * (protocol.MAX_MESSAGE_BYTES + 1)])
def test_a_frame_without_messages_is_refused(text):
    with pytest.raises(protocol.ProtocolError):
        protocol.messages_of(text)
