"""The orchestrator's own INSERT and UPDATE statements store what the ORM would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from projects.models import Project
from runs.models import Dependency, Execution, Result, Step
from runs.orchestration import writes
from runs.states import State
from tests.orchestration.support import queue_run, value
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def insert(objs, **options):
    batch = writes.Batch()
    batch.insert(objs, **options)
    batch.flush()


def update(*args, **conditions):
    batch = writes.Batch()
    batch.update(*args, **conditions)
    batch.flush()


NOW = datetime(2026, 11, 24, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def root() -> Execution:
    workspace = Workspace.objects.create(project=Project.objects.ensure("default"), name="w")
    return Execution.objects.select_related("step").get(id=queue_run(workspace))


def child_step(root: Execution, number: int, **fields) -> Step:
    return Step(
        id=f"{root.step.run_id}:{number}",
        run_id=root.step.run_id,
        number=number,
        module="app.flows",
        target="inc",
        target_type="task",
        parent_id=root.id,
        parent_ref=str(number),
        arguments=[value({"n": number, "text": 'it\'s "quoted" ✓'})],
        options={"retries": {"limit": 2}},
        created_at=NOW,
        **fields,
    )


def test_inserted_rows_read_back_as_the_orm_would_store_them(root):
    insert([child_step(root, 2, group_name="batch"), child_step(root, 3)])
    Step.objects.bulk_create([child_step(root, 4, group_name="batch")])
    fields = ["module", "arguments", "options", "group", "group_name", "created_at", "parent_id"]
    ours, theirs = Step.objects.get(number=2), Step.objects.get(number=4)
    assert ours.arguments == [value({"n": 2, "text": 'it\'s "quoted" ✓'})]
    assert {f: getattr(ours, f) for f in fields if f != "arguments"} == {
        f: getattr(theirs, f) for f in fields if f != "arguments"
    }
    assert Step.objects.get(number=3).group_name == ""


def test_an_unset_automatic_key_is_left_to_the_database_and_conflicts_can_be_skipped(root):
    insert([child_step(root, 2)])
    insert(
        [
            Execution(
                id=f"{root.step.run_id}:2:1",
                step_id=f"{root.step.run_id}:2",
                workspace_id=root.workspace_id,
                created_at=NOW,
            )
        ]
    )
    pair = {"execution_id": root.id, "dependency_id": f"{root.step.run_id}:2:1"}
    insert([Dependency(**pair, created_at=NOW)], ignore_conflicts=True)
    insert([Dependency(**pair, memo_hit=True, created_at=NOW)], ignore_conflicts=True)
    (dependency,) = Dependency.objects.all()
    assert dependency.id is not None and dependency.memo_hit is False


def test_many_rows_are_split_into_statements_the_database_accepts(root):
    steps = [child_step(root, n) for n in range(2, 1202)]
    insert(steps)
    update(Step, [s.id for s in steps], {"group_name": "all"}, parent=root.id)
    assert Step.objects.filter(group_name="all").count() == 1200


def test_updates_touch_only_rows_meeting_every_condition(root):
    insert([child_step(root, 2)])
    ids = [f"{root.step.run_id}:2:{attempt}" for attempt in (1, 2, 3)]
    insert(
        Execution(
            id=i,
            step_id=f"{root.step.run_id}:2",
            attempt=n,
            workspace_id=root.workspace_id,
            state=state,
            created_at=NOW,
            started_at=started,
        )
        for n, (i, state, started) in enumerate(
            zip(
                ids, [State.QUEUED, State.ASSIGNED, State.SUCCEEDED], [None, NOW, None], strict=True
            ),
            1,
        )
    )
    update(
        Execution,
        ids,
        {"state": State.FAILED, "completed_at": NOW},
        state=[State.QUEUED, State.ASSIGNED],
        started_at=None,
    )
    states = dict(Execution.objects.filter(id__in=ids).values_list("id", "state"))
    assert [states[i] for i in ids] == ["failed", "assigned", "succeeded"]
    assert Execution.objects.get(id=ids[0]).completed_at == NOW


def test_nothing_to_write_touches_nothing(root, django_assert_num_queries):
    with django_assert_num_queries(0):
        insert([])
        update(Result, [], {"type": "value"})


def test_a_batch_writes_nothing_before_it_is_flushed_and_then_in_order(root):
    batch = writes.Batch()
    batch.insert([child_step(root, 2)])
    batch.update(Step, [f"{root.step.run_id}:2"], {"group_name": "later"})
    assert not Step.objects.filter(number=2).exists()
    batch.flush()
    assert Step.objects.get(number=2).group_name == "later"
    batch.flush()
