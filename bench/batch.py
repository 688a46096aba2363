"""A batch completion of 1,000 tasks against 1,000 single completions and the database's floor (bench/writes.py's
"batch" part)."""

import json
import statistics
import time
from uuid import UUID, uuid4

import psycopg

from api.bench_floor import MINIMAL_TABLES
from application.batch import BatchAction, BatchTasks, batch_tasks
from application.context import Actor, RequestContext
from application.tasks import CreateTask, TaskChanges, UpdateTask, create_task, update_task
from domain.values import Role, TaskStatus
from infrastructure.bootstrap import open_runtime
from infrastructure.processes.heap import settle_heap
from infrastructure.settings import Settings

BATCH = 1000

# The least a batch of 1,000 must write: an event row and a read row each, with only their primary keys, in one
# statement from one JSON parameter (as the event store sends its rows).
BATCH_FLOOR_SQL = """
WITH e AS (INSERT INTO minimal_events (data) SELECT value::jsonb FROM json_array_elements(%s::json) RETURNING position)
INSERT INTO minimal_reads (id, title) SELECT gen_random_uuid(), 'bench task' FROM e
"""


async def measure_batch(settings: Settings) -> dict[str, float]:
    """Three batch completions of 1,000 tasks (the median), 1,000 single completions, and the database's floor."""
    assert settings.database_url
    async with open_runtime(settings) as runtime:
        settle_heap()  # as an API worker does once started
        deps = runtime.deps
        ctx = RequestContext(actor=Actor(uuid4(), Role.USER), request_id="bench")

        async def some_tasks() -> list[UUID]:
            return [(await create_task(CreateTask(title=f"t{i}"), ctx, deps.tasks)).id for i in range(BATCH)]

        batches: list[float] = []
        for _ in range(3):
            batched = await some_tasks()
            started = time.perf_counter()
            await batch_tasks(BatchTasks(action=BatchAction.COMPLETE, task_ids=list(batched)), ctx, deps.tasks)
            batches.append(time.perf_counter() - started)

        singles = await some_tasks()
        started = time.perf_counter()
        for task_id in singles:
            await update_task(UpdateTask(task_id, TaskChanges(status=TaskStatus.COMPLETED)), ctx, deps.tasks)
        single_seconds = time.perf_counter() - started
    rows = json.dumps([{"title": f"t{i}", "status": "COMPLETED"} for i in range(BATCH)])
    floors: list[float] = []
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(MINIMAL_TABLES)
        for _ in range(5):
            started = time.perf_counter()
            conn.execute(BATCH_FLOOR_SQL, (rows,))
            floors.append(time.perf_counter() - started)
    return {
        "batch_seconds": statistics.median(batches),
        "singles_seconds": single_seconds,
        "floor_seconds": statistics.median(floors),
    }
