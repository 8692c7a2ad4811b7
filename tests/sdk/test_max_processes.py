"""``coflux worker --max-processes``: executions at once, blocked ones included."""

from __future__ import annotations

from coflux._worker import default_max_processes


def test_it_is_four_times_the_concurrency_unless_that_is_unlimited():
    assert default_max_processes(8) == 32
    assert default_max_processes(0) == 0


def test_left_out_the_worker_decides(invoke_worker):
    assert invoke_worker("--concurrency", "3").max_processes is None


def test_the_flag_beats_the_environment_which_beats_the_file(invoke_worker, tmp_path):
    (tmp_path / "coflux.toml").write_text("[worker]\nmax_processes = 5\n")

    assert invoke_worker().max_processes == 5
    assert invoke_worker(env={"COFLUX_WORKER_MAX_PROCESSES": "6"}).max_processes == 6
    options = invoke_worker("--max-processes", "0", env={"COFLUX_WORKER_MAX_PROCESSES": "6"})
    assert options.max_processes == 0
