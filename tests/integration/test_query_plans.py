"""On a million tasks, every query shape of GET /tasks is answered through an index, and /tasks/stats reads the
counters alone."""

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any
from uuid import UUID

import msgspec
import psycopg
import pytest
from psycopg import sql

from application.views import TaskFilter, TaskListing, TaskSort
from domain.values import Priority, TaskStatus
from infrastructure.postgres.due_tasks import DUE_TASKS
from infrastructure.postgres.read_models.tasks import STATS_QUERY, TASK_BY_ID, task_page_query
from tests.conftest import with_database

ROWS = 1_000_000
OWNERS = 1000
AN_OWNER = UUID("00000000-0000-4000-8000-000000000007")
NOW = datetime.now(UTC)
SNAPSHOT = "1000:1000:"

# Open tasks whose due date has passed are overdue, as the scheduler's check would have marked them (about 27%).
FILL = f"""
INSERT INTO tasks_view (id, owner_id, title, description, status, priority, due_date, overdue, version, created_at,
                        updated_at)
SELECT gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad((i % {OWNERS})::text, 12, '0'))::uuid,
       'task ' || i || ' ' || (ARRAY['alpha', 'beta', 'gamma', 'delta'])[1 + i % 4],
       CASE WHEN i % 3 = 0 THEN 'some words ' || i END,
       (ARRAY['PENDING', 'IN_PROGRESS', 'COMPLETED'])[1 + i % 3], (ARRAY['LOW', 'MEDIUM', 'HIGH'])[1 + (i / 3) % 3],
       CASE WHEN i % 5 <> 0 THEN now() + ((i % 200) - 100) * interval '1 day' END,
       i % 5 <> 0 AND i % 200 < 100 AND i % 3 <> 2, 1,
       now() - i * interval '1 second', now() - (i % 5000) * interval '1 second'
FROM generate_series(1, {ROWS}) AS i
"""

# The tasks the overdue check watches, as the registry's task_deadlines keeps them: open, due, not overdue yet.
WATCH = """
INSERT INTO task_deadlines (id, due_date)
SELECT id, due_date FROM tasks_view WHERE status <> 'COMPLETED' AND due_date IS NOT NULL AND NOT overdue
"""


@pytest.fixture(scope="module")
def million(servers: tuple[str, str], template_database: str) -> Iterator[psycopg.Connection[Any]]:
    """A database of its own with a million tasks (indexes dropped for the load, then rebuilt as migrated)."""
    admin_url, _ = servers
    name = f"taskflow_plans_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    try:
        with psycopg.connect(with_database(admin_url, name), autocommit=True) as conn:
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks_view'"
                " AND indexname <> 'tasks_view_pkey'"
            ).fetchall()
            for index_name, _ in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index_name)))
            conn.execute(FILL)
            for _, definition in indexes:
                conn.execute(definition)
            conn.execute(WATCH)
            conn.execute("ANALYZE tasks_view")
            conn.execute("ANALYZE task_deadlines")
            yield conn
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plan_nodes(conn: psycopg.Connection[Any], query: str, params: Any) -> list[dict[str, Any]]:
    (plan,) = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()  # type: ignore[misc]
    nodes: list[dict[str, Any]] = []
    pending = [plan[0]["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


def assert_indexed(nodes: list[dict[str, Any]]) -> None:
    on_tasks = [n for n in nodes if n.get("Relation Name") == "tasks_view"]
    assert on_tasks, nodes
    kinds = {n["Node Type"] for n in on_tasks}
    assert "Seq Scan" not in kinds, kinds
    assert kinds & {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, kinds


FILTERS = {
    "no filter": TaskFilter(),
    "status": TaskFilter(statuses=(TaskStatus.PENDING, TaskStatus.IN_PROGRESS)),
    "priority": TaskFilter(priorities=(Priority.HIGH,)),
    "due window": TaskFilter(due_after=NOW - timedelta(days=3), due_before=NOW + timedelta(days=3)),
    "overdue": TaskFilter(overdue=True),
    "overdue and high priority": TaskFilter(overdue=True, priorities=(Priority.HIGH,)),
    "words": TaskFilter(text="gamma"),  # in a quarter of the titles: read in order, filtered
    "a rare word": TaskFilter(text="123457"),  # in one title: found through the text index
}


@pytest.mark.parametrize(
    ("scope", "sort", "page"), list(product(["owner", "everyone"], list(TaskSort), ["first", "deep"]))
)
def test_every_sort_and_page_uses_an_index(
    million: psycopg.Connection[Any], scope: str, sort: TaskSort, page: str
) -> None:
    task_filter = TaskFilter(owner_id=AN_OWNER if scope == "owner" else None)
    key: Any = NOW - timedelta(days=30) if sort.value.removeprefix("-") != "priority" else 2
    listing = TaskListing(
        filter=task_filter,
        sort=sort,
        limit=21,
        after=(key, UUID(int=0)) if page == "deep" else None,
        snapshot=SNAPSHOT if page == "deep" else None,
    )
    assert_indexed(plan_nodes(million, *task_page_query(listing)))


@pytest.mark.parametrize(("scope", "name"), list(product(["owner", "everyone"], FILTERS)))
def test_every_filter_uses_an_index(million: psycopg.Connection[Any], scope: str, name: str) -> None:
    owner = AN_OWNER if scope == "owner" else None
    task_filter = FILTERS[name]
    listing = TaskListing(
        filter=msgspec.structs.replace(task_filter, owner_id=owner),
        sort=TaskSort.CREATED_DESC,
        limit=21,
    )
    assert_indexed(plan_nodes(million, *task_page_query(listing)))


@pytest.mark.parametrize("scope", ["owner", "everyone"])
def test_stats_read_the_counters_not_the_tasks(million: psycopg.Connection[Any], scope: str) -> None:
    nodes = plan_nodes(million, STATS_QUERY, {"owner": AN_OWNER if scope == "owner" else None})
    assert {node["Relation Name"] for node in nodes if "Relation Name" in node} == {"task_counters"}


@pytest.mark.parametrize("ahead", [timedelta(0), timedelta(days=30)], ids=["none due", "a month of them due"])
def test_the_overdue_check_finds_due_tasks_through_the_due_date_index(
    million: psycopg.Connection[Any], ahead: timedelta
) -> None:
    nodes = plan_nodes(million, DUE_TASKS, (NOW + ahead, 1000))
    assert "task_deadlines_due_idx" in _indexes_used(nodes)
    assert "Seq Scan" not in {node["Node Type"] for node in nodes}


def _indexes_used(nodes: list[dict[str, Any]]) -> set[str]:
    return {node["Index Name"] for node in nodes if "Index Name" in node}  # a bitmap index scan names no relation


def test_every_index_earns_its_place(million: psycopg.Connection[Any]) -> None:
    """Each index of tasks_view is the one some query shape of the service is planned through on a million rows: an
    index no query needs is only a cost to every write (a batch of 1,000 writes 1,000 entries into each)."""
    used: set[str] = set()
    for scope, sort, page in product(["owner", "everyone"], list(TaskSort), ["first", "deep"]):
        key: Any = NOW - timedelta(days=30) if sort.value.removeprefix("-") != "priority" else 2
        listing = TaskListing(
            filter=TaskFilter(owner_id=AN_OWNER if scope == "owner" else None),
            sort=sort,
            limit=21,
            after=(key, UUID(int=0)) if page == "deep" else None,
            snapshot=SNAPSHOT if page == "deep" else None,
        )
        used |= _indexes_used(plan_nodes(million, *task_page_query(listing)))
    for scope, name in product(["owner", "everyone"], FILTERS):
        task_filter = msgspec.structs.replace(FILTERS[name], owner_id=AN_OWNER if scope == "owner" else None)
        listing = TaskListing(filter=task_filter, sort=TaskSort.CREATED_DESC, limit=21)
        used |= _indexes_used(plan_nodes(million, *task_page_query(listing)))
    used |= _indexes_used(plan_nodes(million, TASK_BY_ID, (UUID(int=1), AN_OWNER, AN_OWNER)))
    indexes = {name for (name,) in million.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tasks_view'")}
    assert indexes - used == set(), "indexes no query is planned through"
