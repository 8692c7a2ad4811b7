"""``coflux logs``: arguments, output formats, and against the session's real server."""

from __future__ import annotations

import click
import pytest

from coflux._cli.logs import as_json, as_text
from coflux._serialization import serialize

LINE = {
    "id": 7,
    "executionId": "R1:2:1",
    "timestamp": 1_000_000_001_500,
    "level": 2,
    "template": "loaded {count} rows",
    "values": {"count": serialize(3), "path": serialize("a.csv")},
}


def test_a_line_shows_time_level_execution_text_and_other_values():
    shown = click.unstyle(as_text(LINE, since_ms=1_000_000_000_000))

    assert shown.split() == ["+1.500s", "info", "2:1", "loaded", "3", "rows", "path='a.csv'"]


@pytest.mark.parametrize(
    "elapsed_ms, shown",
    [(0, "+0.000s"), (61_250, "+1m01.250s"), (3_723_000, "+1h02m03.000s"), (-5, "+0.000s")],
)
def test_times_count_from_the_submission(elapsed_ms, shown):
    line = {**LINE, "timestamp": 1_000 + elapsed_ms}
    assert click.unstyle(as_text(line, since_ms=1_000)).split()[0] == shown


@pytest.mark.parametrize("level, name", [(0, "debug"), (1, "stdout"), (3, "stderr"), (5, "error")])
def test_levels_are_named(level, name):
    assert click.unstyle(as_text({**LINE, "level": level}, 0)).split()[1] == name


def test_json_lines_name_their_execution():
    assert as_json(LINE) == {
        "executionId": "R1:2:1",
        "timestamp": 1_000_000_001_500,
        "level": 2,
        "template": "loaded {count} rows",
        "values": LINE["values"],
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["R1", "R2:1:1"], "not an execution of R1"),
        (["R1", "R1:1"], "expected RUN:STEP:ATTEMPT"),
        (["R1:1"], "expected RUN, or RUN:STEP:ATTEMPT"),
        (["R1:1:1", "R1:1:1"], "expected RUN, or RUN:STEP:ATTEMPT"),
        (["R1", "--from", "-1"], "-1"),
    ],
)
def test_it_refuses_bad_arguments(run_cli, args, message):
    result = run_cli("logs", *args)

    assert result.exit_code == 2
    assert message in result.output


def test_it_reports_an_unknown_run(run_cli, registered):
    result = run_cli("logs", "Rnope")

    assert result.exit_code == 1
    assert "No run 'Rnope'" in result.output


def test_a_run_without_lines_has_an_empty_log(run_cli, finished_run):
    assert run_cli.json("logs", finished_run, "-o", "json") == {"logs": [], "cursor": None}
    assert run_cli.json("logs", f"{finished_run}:1:1", "-o", "json")["logs"] == []
    result = run_cli("logs", finished_run)
    assert result.exit_code == 0 and result.output == ""


def test_following_a_finished_run_ends_at_once(run_cli, finished_run):
    result = run_cli("logs", finished_run, "--follow", "-o", "json")

    assert result.exit_code == 0
    assert result.output.splitlines() == ['{"logs": [], "cursor": null}']
