"""Text from user code is capped, and no message too large for a frame is ever sent."""

from __future__ import annotations

import collections

from coflux._capture import STDOUT, LineCapture, LogBuffer
from coflux._limits import MAX_ERROR_FRAMES, MAX_ERROR_MESSAGE, MAX_LOG_LINE
from coflux._sending import _replace_too_large
from coflux._tracebacks import error_result
from coflux_wire import protocol


def captured(*writes: str) -> list[str]:
    batches: list[list[list]] = []
    logs = LogBuffer(batches.append, flush_interval=60)
    capture = LineCapture(logs, STDOUT)
    for text in writes:
        capture.write(text)
    capture.close()
    logs.close()
    return [entry[2] for batch in batches for entry in batch]


def test_a_long_line_is_cut_saying_how_much_is_missing():
    (line,) = captured("x" * (MAX_LOG_LINE + 10) + "\n")
    assert line == "x" * MAX_LOG_LINE + "… (10 more characters)"


def test_a_line_written_in_pieces_is_kept_to_its_start_while_it_grows():
    pieces = ["." * 1000 for _ in range(40)]
    (line,) = captured(*pieces, "\nnext line\n")[:1]
    assert line == "." * MAX_LOG_LINE + f"… ({40_000 - MAX_LOG_LINE} more characters)"
    assert captured(*pieces, "\nnext line\n")[1] == "next line"


def test_an_errors_message_and_traceback_are_capped():
    def recurse(n: int) -> None:
        if n == 0:
            raise ValueError("y" * (MAX_ERROR_MESSAGE + 5))
        recurse(n - 1)

    try:
        recurse(MAX_ERROR_FRAMES * 2)
    except ValueError as exc:
        error = error_result(exc)["error"]
    assert error["message"].endswith("… (5 more characters)")
    assert len(error["frames"]) == MAX_ERROR_FRAMES
    assert error["frames"][-1]["name"] == "recurse"


def test_a_message_too_large_for_a_frame_is_replaced_or_left_out(monkeypatch):
    monkeypatch.setattr(protocol, "MAX_MESSAGE_BYTES", 300)
    small = {"type": "started", "execution": "R1:1:1"}
    huge_log = {"type": "log", "execution": "R1:1:1", "entries": [[0, 1, "z" * 400, {}]]}
    huge_result = {
        "type": "result",
        "execution": "R1:1:1",
        "result": {"type": "value", "value": {"type": "inline", "data": "v" * 400}},
    }
    outbox = collections.deque([small, huge_log, huge_result])

    def replace() -> bool:
        return _replace_too_large(outbox, list(protocol.encode_frames(list(outbox))))

    assert replace() and list(outbox) == [small, huge_result]
    assert replace() and outbox[1]["result"]["type"] == "error"
    assert outbox[1]["result"]["error"]["type"] == "coflux.MessageTooLarge"
    assert not replace()


def test_printed_text_is_cleaned_of_what_the_server_refuses_one_for_one():
    (line,) = captured("a\x00b\ud800c\n")
    assert line == "a\ufffdb\ufffdc"
    long_line = "\x00" * (MAX_LOG_LINE + 3)
    (line,) = captured(long_line + "\n")
    assert line == "\ufffd" * MAX_LOG_LINE + "… (3 more characters)"


def test_an_error_with_awkward_text_makes_a_result_the_server_accepts():
    awkward = type("Bad" + "x" * 300, (Exception,), {})
    try:
        raise awkward("nul \x00 and \udc80 here")
    except Exception as exc:
        result = error_result(exc)
    message = {"type": "result", "execution": "R1:1:1", "result": result}
    assert protocol.validate(message, protocol.WORKER_MESSAGES)
    assert result["error"]["message"] == "nul \ufffd and \ufffd here"
    assert len(result["error"]["type"]) == 255
