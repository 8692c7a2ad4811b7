"""``coflux worker``'s own parsing; running workers is covered by the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from coflux._cli.worker import Duration, SourceChanges, default_concurrency

ROOT = Path("/project")


@pytest.mark.parametrize(
    ("path", "watched"),
    [
        ("/project/app/flows.py", True),
        ("/project/main.py", True),
        ("/project/app/notes.txt", False),
        ("/project/.git/hooks/x.py", False),
        ("/project/.hidden/x.py", False),
        ("/project/app/__pycache__/flows.py", False),
        ("/project/venv/lib/site.py", False),
        ("/project/.venv/lib/site.py", False),
        ("/project/web/node_modules/x.py", False),
        ("/elsewhere/x.py", False),
    ],
)
def test_it_watches_python_sources_only(path, watched):
    assert SourceChanges(ROOT)(None, path) is watched


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("1.5s", 1.5), ("2m", 120.0), ("1h", 3600.0), ("0", 0.0)]
)
def test_it_reads_drain_timeouts(text, seconds):
    assert Duration().convert(text, None, None) == seconds


def test_it_rejects_malformed_durations():
    with pytest.raises(click.BadParameter):
        Duration().convert("soon", None, None)


def test_its_default_concurrency_is_cpus_plus_4_at_most_32():
    assert 5 <= default_concurrency() <= 32


def test_it_needs_modules(run_cli):
    result = run_cli("worker")

    assert result.exit_code == 2
    assert "name the modules" in result.stderr


def test_it_rejects_malformed_tags(run_cli):
    result = run_cli("worker", "app", "--provides", "gpu:")

    assert result.exit_code == 2
    assert "invalid tag" in result.stderr


def test_it_rejects_a_negative_concurrency(run_cli):
    assert run_cli("worker", "app", "--concurrency", "-1").exit_code == 2


def test_it_rejects_a_negative_max_processes(run_cli):
    result = run_cli("worker", "app", "--max-processes", "-1")

    assert result.exit_code == 2
    assert "--max-processes" in result.stderr
