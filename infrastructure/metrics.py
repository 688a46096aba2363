"""Prometheus metrics: what each process counts, summed over a shared directory, and the deployment's figures."""

import collections
import contextlib
import hmac
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from application.views import ProjectionState

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Every metric has labels, so no value is made before a process knows where values live (see share()).
REQUEST_SECONDS = Histogram(
    "taskflow_http_request_duration_seconds",
    "HTTP request latency by method, route template and status.",
    ("method", "route", "status"),
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_APPENDED = Counter("taskflow_events_appended", "Events committed to the log, by type.", ("type",))
CACHE_READS = Counter(
    "taskflow_cache_reads",
    "Task cache reads: hit, miss, or bypass (Redis unavailable, or this process's invalidations held back).",
    ("result",),
)
POOL_CONNECTIONS = Gauge(
    "taskflow_db_pool_connections",
    "Database pool connections: open, idle, in use, and requests waiting for one.",
    ("state",),
    multiprocess_mode="livesum",
)

# Methods a client may send are unbounded; the label keeps to these.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    label = method if method in METHODS else "OTHER"
    REQUEST_SECONDS.labels(label, route, str(status)).observe(seconds)


_APPENDED_BY_TYPE: dict[str, Any] = {}  # each type's labelled counter, looked up once


def count_appended(types: Iterable[str]) -> None:
    for event_type, count in collections.Counter(types).items():
        counter = _APPENDED_BY_TYPE.get(event_type)
        if counter is None:
            counter = _APPENDED_BY_TYPE[event_type] = EVENTS_APPENDED.labels(event_type)
        counter.inc(count)


def count_cache_read(result: str) -> None:
    CACHE_READS.labels(result).inc()


def record_pool(stats: dict[str, int]) -> None:
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    POOL_CONNECTIONS.labels("open").set(size)
    POOL_CONNECTIONS.labels("idle").set(idle)
    POOL_CONNECTIONS.labels("in_use").set(size - idle)
    POOL_CONNECTIONS.labels("waiting").set(stats.get("requests_waiting", 0))


def may_scrape(authorization: str | None, token: str | None) -> bool:
    """Whether a request with this Authorization header may read the metrics (any request, when no token is set)."""
    if token is None:
        return True
    scheme, _, presented = (authorization or "").partition(" ")
    # In constant time: how long the comparison takes says nothing of how much of the token was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


@contextlib.contextmanager
def shared_directory() -> Iterator[Path]:
    """The directory this process and the processes it starts write their metrics to: with it, a scrape answered
    by any process reports the sum over every process writing there (granian's workers, `taskflow run`'s children).

    One named by PROMETHEUS_MULTIPROC_DIR is used as it is (it should be empty when the service starts, a tmpfs
    say); otherwise a new one is made, exported to child processes, and removed at exit.
    """
    named = os.environ.get(DIRECTORY_VARIABLE)
    if named:
        share(Path(named))
        yield Path(named)
        return
    made = Path(tempfile.mkdtemp(prefix="taskflow-metrics-"))
    try:
        share(made)
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


_shared: Path | None = None


def share(directory: Path) -> None:
    """Write this process's metrics to `directory`, and so those of the processes it forks or starts.

    prometheus_client chooses where values live when it is imported, which the CLI does before a command runs;
    the choice is made again here (once per directory). Every metric has labels, and a labelled value is made at
    its first use, so values made from now on live in the directory; any made before stay in this process's
    memory (`taskflow run` seeds before it shares, and never serves them).
    """
    global _shared
    if _shared == directory:
        return
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[DIRECTORY_VARIABLE] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    _shared = directory


@dataclass(frozen=True, slots=True)
class DeploymentFigures:
    """What PostgreSQL knows for the whole deployment (infrastructure/postgres/deployment_figures.py reads it)."""

    projections: list[ProjectionState]
    job_attempts: int
    job_retries: int
    jobs_pending: int
    dead_letters: int


class _Deployment(Collector):
    def __init__(self, figures: DeploymentFigures | None) -> None:
        self._figures = figures

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "taskflow_database_metrics_up", "1 if the deployment metrics below could be read from PostgreSQL."
        )
        up.add_metric([], 0 if self._figures is None else 1)
        yield up
        figures = self._figures
        if figures is None:
            return
        lag = GaugeMetricFamily(
            "taskflow_projection_lag_events",
            "Events in the log a projection has not applied yet.",
            labels=["projection"],
        )
        running = GaugeMetricFamily(
            "taskflow_projection_running",
            "1 while a projection is applied (inline, or a live follower).",
            labels=["projection"],
        )
        for state in figures.projections:
            lag.add_metric([state.name], state.lag)
            running.add_metric([state.name], 0 if state.status == "stopped" else 1)
        yield lag
        yield running
        yield CounterMetricFamily(
            "taskflow_refund_job_attempts", "Refund attempts whose outcome is in the log.", value=figures.job_attempts
        )
        yield CounterMetricFamily(
            "taskflow_refund_job_retries",
            "Refund attempts after the first (scheduled retries and dead letters sent back).",
            value=figures.job_retries,
        )
        yield GaugeMetricFamily(
            "taskflow_refund_jobs_pending", "Refund attempts called for and not yet done.", value=figures.jobs_pending
        )
        yield GaugeMetricFamily(
            "taskflow_dead_letters",
            "Refunds that failed for good and are listed for an admin.",
            value=figures.dead_letters,
        )


class _ThisProcess(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


_PID = re.compile(r"_(\d+)\.db$")


def _forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of processes that are gone (a restarted granian worker leaves its files behind)."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        found = _PID.search(path.name)
        if found is not None and not _alive(int(found.group(1))):
            mark_process_dead(int(found.group(1)), directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, and belongs to somebody else
    return True


def exposition(figures: DeploymentFigures | None) -> bytes:
    """The Prometheus text format: every process sharing this one's directory, then the deployment figures."""
    registry = CollectorRegistry()
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if directory:
        _forget_dead_processes(directory)
        MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Deployment(figures))
    return generate_latest(registry)
