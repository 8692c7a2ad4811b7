"""The run graph and timeline as plain functions, over runs made by the real orchestrator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Execution, Run, Step
from runs.states import State
from runs.studio.graph import Graph, build_graph, stale_executions
from runs.studio.outline import load_outline
from runs.studio.timeline import PAGE_SIZE, build_timeline
from tests.studio.run_support import RunBuilder
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def builder() -> RunBuilder:
    return RunBuilder()


def graph_of(builder: RunBuilder, run_id: str = "Rtest1", selected=None, cap: int = 1000) -> Graph:
    return build_graph(
        load_outline(builder.run(run_id)),
        step_url=lambda number, attempt: f"/step/{number}/{attempt}",
        run_url=lambda run: f"/runs/{run}",
        asset_url=lambda asset: f"/assets/{asset}",
        picker_url=lambda execution, group: f"/pick/{execution}/{group}",
        selected=selected,
        now=timezone.now(),
        cap=cap,
    )


def node(graph: Graph, key: str):
    return next(n for n in graph.nodes if n.key == key)


def test_it_lays_calls_out_left_to_right_with_solid_edges_for_used_results(builder):
    root = builder.start()
    used = builder.call(root)
    ignored = builder.call(root)
    grandchild = builder.call(used)
    builder.wait(root, used)
    builder.call(grandchild)
    graph = graph_of(builder)
    places = {n.key: (n.layer, n.row) for n in graph.nodes}
    # A first callee sits on its caller's row; the next one below the first one's subtree.
    assert places == {
        "step:Rtest1:1": (0, 0),
        "step:Rtest1:2": (1, 0),
        "step:Rtest1:4": (2, 0),
        "step:Rtest1:5": (3, 0),
        "step:Rtest1:3": (1, 1),
    }
    kinds = {(e.source, e.target): e.kind for e in graph.edges}
    assert kinds == {
        ("step:Rtest1:1", "step:Rtest1:2"): "result",
        ("step:Rtest1:1", "step:Rtest1:3"): "call",
        ("step:Rtest1:2", "step:Rtest1:4"): "call",
        ("step:Rtest1:4", "step:Rtest1:5"): "call",
    }
    assert node(graph, "step:Rtest1:1").root
    assert node(graph, f"step:{used.rsplit(':', 1)[0]}").state == State.ASSIGNED
    assert grandchild and ignored


def test_a_group_is_one_node_with_counts_showing_its_first_failure(builder):
    root = builder.start()
    members = builder.calls(root, [[1], [2], [3]], group=1, group_name="batch")
    builder.succeed(members[0], 10)
    builder.fail(members[1])
    graph = graph_of(builder)
    assert [n.key for n in graph.nodes] == ["step:Rtest1:1", f"group:{root}:1"]
    group = node(graph, f"group:{root}:1")
    assert group.step.id == "Rtest1:3"  # the failed member
    assert group.group.name == "batch" and group.group.total == 3
    assert group.group.counts == {"assigned": 1, "failed": 1, "succeeded": 1}
    assert group.group.picker_url == f"/pick/{root}/1"


def test_a_group_shows_the_selected_member(builder):
    root = builder.start()
    builder.calls(root, [[1], [2], [3]], group=1)
    graph = graph_of(builder, selected=(2, None))
    group = node(graph, f"group:{root}:1")
    assert group.step.number == 2 and group.selected


def test_a_step_whose_used_result_was_replaced_is_stale_and_so_are_its_users(builder):
    root = builder.start()
    middle = builder.call(root)
    leaf = builder.call(middle)
    builder.succeed(leaf, 1)
    builder.wait(middle, leaf)
    builder.succeed(middle, 2)
    builder.wait(root, middle)
    assert stale_executions(load_outline(builder.run())) == set()
    builder.rerun("Rtest1:3")
    builder.succeed("Rtest1:3:2", 99)
    assert stale_executions(load_outline(builder.run())) == {middle, root}
    graph = graph_of(builder)
    assert node(graph, "step:Rtest1:2").stale and node(graph, "step:Rtest1:2").icon == "stale"
    assert node(graph, "step:Rtest1:1").stale
    assert not node(graph, "step:Rtest1:3").stale and node(graph, "step:Rtest1:3").stacked


def test_a_rerun_with_the_same_result_leaves_users_fresh(builder):
    root = builder.start()
    child = builder.call(root)
    builder.succeed(child, 1)
    builder.wait(root, child)
    builder.rerun("Rtest1:2")
    builder.succeed("Rtest1:2:2", 1)
    assert stale_executions(load_outline(builder.run())) == set()


def test_selecting_an_attempt_pins_the_lineage_that_made_it(builder):
    root = builder.start()
    first_child = builder.call(root)
    builder.rerun("Rtest1:1")
    builder.send({"type": "started", "execution": "Rtest1:1:2"})
    second_child = builder.call("Rtest1:1:2")
    latest = graph_of(builder)
    assert [n.key for n in latest.nodes] == ["step:Rtest1:1", "step:Rtest1:3"]
    assert node(latest, "step:Rtest1:1").attempt.attempt == 2
    pinned = graph_of(builder, selected=(2, 1))
    assert [n.key for n in pinned.nodes] == ["step:Rtest1:1", "step:Rtest1:2"]
    assert node(pinned, "step:Rtest1:1").attempt.attempt == 1
    assert all(e.lineage for e in pinned.edges)
    assert first_child and second_child


def test_spawned_runs_and_the_parent_run_are_pills(builder):
    root = builder.start()
    builder.call(root, "main")
    [spawned] = Run.objects.exclude(pk="Rtest1").values_list("id", flat=True)
    graph = graph_of(builder)
    pill = node(graph, f"run:{spawned}")
    assert pill.kind == "run" and pill.href == f"/runs/{spawned}"
    assert ("step:Rtest1:2", f"run:{spawned}") in {(e.source, e.target) for e in graph.edges}
    child_graph = graph_of(builder, spawned)
    assert child_graph.nodes[0].key == "run:Rtest1"
    assert child_graph.nodes[0].sublabel == "parent run"
    assert node(child_graph, f"step:{spawned}:1").layer == 1


def test_an_attempt_in_another_workspace_has_a_badge(builder):
    root = builder.start()
    child = builder.call(root)
    builder.succeed(child, 1)
    Workspace.objects.create(project=builder.project, name="dev", base=builder.workspace)
    builder.harness.tick({"kind": "wake"})
    builder.rerun("Rtest1:2", "dev")
    assert node(graph_of(builder), "step:Rtest1:2").badge == "dev"


def test_cached_and_memoised_steps_are_marked(builder):
    root = builder.start()
    cache = {"params": None, "max_age_ms": None, "namespace": None, "version": None}
    first = builder.call(root, "fetch", arguments=["a"], options={"cache": cache})
    builder.succeed(first, "page")
    builder.call(root, "fetch", arguments=["a"], options={"cache": cache})
    builder.harness.tick({"kind": "wake"})
    memo = builder.call(root, "inc", arguments=[5], options={"memo": True})
    builder.call(root, "inc", arguments=[5], options={"memo": True})
    graph = graph_of(builder)
    cached = node(graph, "step:Rtest1:3")
    assert cached.state == State.CACHED and cached.icon == "cached"
    assert first in cached.icon_title and "this run" in cached.icon_title
    assert node(graph, f"step:{memo.rsplit(':', 1)[0]}").icon == "memoised"


def test_above_the_cap_the_graph_is_a_summary(builder):
    root = builder.start()
    builder.calls(root, [[i] for i in range(5)])
    builder.calls(root, [[i] for i in range(3)], target="fetch")
    graph = graph_of(builder, cap=4)
    assert graph.nodes == [] and graph.summary is not None
    rows = {(row.module, row.target): (row.total, row.counts) for row in graph.summary}
    assert rows[("app.flows", "inc")][0] == 5
    assert rows[("app.flows", "fetch")][0] == 3
    assert rows[("app.flows", "main")] == (1, {"assigned": 1})


def test_groups_count_once_against_the_cap(builder):
    root = builder.start()
    builder.calls(root, [[i] for i in range(50)], group=1)
    graph = graph_of(builder, cap=4)
    assert graph.summary is None and len(graph.nodes) == 2


def test_the_timeline_draws_queued_and_running_bars_and_dots(builder):
    root = builder.start()
    child = builder.call(root)
    builder.succeed(child, 1)
    run = builder.run()
    start = run.created_at
    Execution.objects.filter(pk=child).update(
        created_at=start + timedelta(seconds=1),
        assigned_at=start + timedelta(seconds=3),
        completed_at=start + timedelta(seconds=8),
    )
    Execution.objects.filter(pk=root).update(
        created_at=start, assigned_at=start + timedelta(seconds=1), completed_at=None
    )
    now = start + timedelta(seconds=10)
    timeline = build_timeline(
        load_outline(run), page=1, now=now, step_url=lambda n, a: f"/s/{n}", selected_step=2
    )
    root_row, child_row = timeline.rows
    assert [b.kind for b in child_row.bars] == ["queued", "running"]
    queued, running = child_row.bars
    assert queued.x == pytest.approx(72) and queued.width == pytest.approx(144)
    assert running.x == pytest.approx(216) and running.width == pytest.approx(360)
    assert running.state == "succeeded"
    # The root still runs: its bar reaches now, the end of the axis.
    assert root_row.bars[-1].x + root_row.bars[-1].width == pytest.approx(720)
    assert child_row.selected and not root_row.selected
    assert [t.label for t in timeline.ticks] == ["0", "+2s", "+4s", "+6s", "+8s", "+10s"]


def test_an_attempt_that_never_ran_is_a_dot(builder):
    root = builder.start()
    child = builder.call(root, "unhosted")  # no worker hosts it: it stays queued
    builder.send({"type": "cancel", "execution": root, "targets": [child]})
    timeline = build_timeline(
        load_outline(builder.run()), page=1, now=timezone.now(), step_url=lambda n, a: ""
    )
    bars = [(b.kind, b.state) for b in timeline.rows[1].bars]
    assert bars[-1] == ("dot", "cancelled") and "running" not in {kind for kind, _ in bars}


def test_the_timeline_pages_its_rows(builder):
    root = builder.start()
    builder.calls(root, [[i] for i in range(PAGE_SIZE + 5)])
    outline = load_outline(builder.run())
    second = build_timeline(outline, page=2, now=timezone.now(), step_url=lambda n, a: "")
    assert second.pages == 2 and second.total == PAGE_SIZE + 6
    assert [r.step.number for r in second.rows] == list(range(PAGE_SIZE + 1, PAGE_SIZE + 7))
    assert Step.objects.filter(run_id="Rtest1").count() == PAGE_SIZE + 6


def test_assets_are_dotted_edges_to_three_then_a_count(builder):
    from assets.models import Asset

    root = builder.start()
    child = builder.call(root)
    execution = Execution.objects.get(pk=child)
    for index in range(5):
        entries = {f"f{index}.txt": {"blob_key": "ab" * 32, "size": 10}}
        Asset.objects.record(
            builder.project, name=f"out{index}", execution=execution, entries=entries
        )
    graph = graph_of(builder)
    assets = [n for n in graph.nodes if n.kind == "asset"]
    assert [n.label for n in assets] == ["out0", "out1", "out2"]
    assert all(n.href.startswith("/assets/A") for n in assets)
    [more] = [n for n in graph.nodes if n.kind == "more"]
    assert more.label == "+2 more"
    kinds = {e.target: e.kind for e in graph.edges if e.source == "step:Rtest1:2"}
    assert set(kinds.values()) == {"asset"} and len(kinds) == 4
