"""The table's rows of the read, rebuild, audit and overdue benchmarks."""

from typing import Any

from rows import TIMES, Row, at_least


def read_rows(reads: dict[str, Any]) -> list[Row]:
    found: list[Row] = []
    date = reads.get("date", "")[:10]
    if reads.get("cached"):
        ratio = reads["cached"]["rps"] / reads["health"]["rps"]
        target, met = at_least(ratio, 0.35)
        found.append(
            Row(
                "cached `GET /tasks?limit=20`, 32 connections",
                f"{reads['cached']['rps']:,.0f}/s",
                f"`GET /health` {reads['health']['rps']:,.0f}/s",
                ratio,
                target,
                met,
                date,
            )
        )
        if floor := reads.get("floor"):
            ratio = reads["cached"]["rps"] / floor["rps"]
            target, met = at_least(ratio, 0.9)
            found.append(
                Row(
                    "cached `GET /tasks?limit=20` vs the stack's floor, 32 connections",
                    f"{reads['cached']['rps']:,.0f}/s",
                    f"`GET /bench/floor` (token + one EVALSHA) {floor['rps']:,.0f}/s",
                    ratio,
                    target,
                    met,
                    date,
                )
            )
        if not_modified := reads.get("not_modified"):
            ratio = not_modified["rps"] / reads["health"]["rps"]
            target, met = at_least(ratio, 0.4)
            found.append(
                Row(
                    "`GET /tasks/{id}` with a matching `If-None-Match` (304), 32 connections",
                    f"{not_modified['rps']:,.0f}/s",
                    f"`GET /health` {reads['health']['rps']:,.0f}/s",
                    ratio,
                    target,
                    met,
                    date,
                )
            )
        ratio = reads["uncached"]["rps"] / reads["health_uncached_server"]["rps"]
        target, met = at_least(ratio, 0.2)
        found.append(
            Row(
                "uncached `GET /tasks?limit=20`, 32 connections",
                f"{reads['uncached']['rps']:,.0f}/s",
                f"`GET /health` {reads['health_uncached_server']['rps']:,.0f}/s",
                ratio,
                target,
                met,
                date,
            )
        )
    latency = reads.get("latency", {})
    if len(latency) > 1:
        sizes = sorted(latency, key=int)
        small, large = latency[sizes[0]], latency[sizes[-1]]
        for page in ("first_page", "deep_page"):
            ratio = large[page]["p99_ms"] / small[page]["p99_ms"]
            found.append(
                Row(
                    f"`GET /tasks` {page.replace('_', ' ')} p99 at {int(sizes[-1]):,} tasks",
                    f"{large[page]['p99_ms']:.1f} ms",
                    f"{small[page]['p99_ms']:.1f} ms at {int(sizes[0]):,}",
                    ratio,
                    f"≤ 1.5{TIMES}",
                    ratio <= 1.5,
                    date,
                )
            )
    return found


def rebuild_rows(rebuild: dict[str, Any]) -> list[Row]:
    found: list[Row] = []
    date = rebuild.get("date", "")[:10]
    runs = {run["events"]: run for run in rebuild.get("runs", [])}
    if runs:
        largest, smallest = runs[max(runs)], runs[min(runs)]
        rate = largest["events_per_second"]
        found.append(
            Row(
                f"rebuild of {largest['events']:,} events",
                f"{rate:,.0f} events/s",
                "100,000 events/s",
                rate / 100_000,
                f"≥ 1{TIMES}",
                rate >= 100_000,
                date,
            )
        )
        growth = largest["peak_rss_mb"] / smallest["peak_rss_mb"]
        found.append(
            Row(
                f"rebuild peak memory, {largest['events']:,} events",
                f"{largest['peak_rss_mb']:.0f} MB",
                f"{smallest['peak_rss_mb']:.0f} MB at {smallest['events']:,}",
                growth,
                "< 300 MB, not growing",
                largest["peak_rss_mb"] < 300 and growth <= 1.1,
                date,
            )
        )
    return found


def memory_rows(reads: dict[str, Any]) -> list[Row]:
    found: list[Row] = []
    date = reads.get("date", "")[:10]
    if rss := reads.get("worker_rss_mb"):
        worst = max(rss)
        found.append(
            Row(
                "API worker resident memory after the load runs",
                f"{worst:.0f} MB",
                "200 MB",
                worst / 200,
                "< 200 MB",
                worst < 200,
                date,
            )
        )
    return found


def audit_rows(audit: dict[str, Any]) -> list[Row]:
    """The audit tree: its follower against a paced load and from scratch, and proofs at the largest log."""
    found: list[Row] = []
    date = audit.get("date", "")[:10]
    if paced := audit.get("paced"):
        rate, median = paced["rate"], paced["p50_lag_events"]
        found.append(
            Row(
                f"audit tree follower under {paced['achieved_rate']:,} appends/s: lag p50 (max)",
                f"{median:,.0f} events ({paced['max_lag_events']:,})",
                f"{rate:,} events (1 s of appends)",
                median / rate,
                "< 1 s of appends; 0 a second after",
                median < rate and paced["lag_after_1s"] == 0 and paced["achieved_rate"] >= rate * 0.95,
                date,
            )
        )
    if catch_up := audit.get("catch_up"):
        rate = catch_up["events_per_second"]
        target, met = at_least(rate / 3000, 1)
        found.append(
            Row(
                f"audit tree from scratch, {catch_up['events']:,} events",
                f"{rate:,.0f} events/s",
                "3,000/s",
                rate / 3000,
                target,
                met,
                date,
            )
        )
    if proofs := audit.get("proofs"):
        for kind in ("inclusion", "consistency"):
            p99 = proofs[kind]["p99_ms"]
            found.append(
                Row(
                    f"{kind} proof p99 at {proofs['tree_size']:,} events",
                    f"{p99:.1f} ms",
                    "10 ms",
                    p99 / 10,
                    f"≤ 1{TIMES}",
                    p99 <= 10,
                    date,
                )
            )
    return found


def overdue_rows(overdue: dict[str, Any]) -> list[Row]:
    """Tasks falling due in one minute, all marked within two check periods: one run of them all within one."""
    marked = overdue.get("marked")
    if not marked:
        return []
    seconds, period = marked["seconds_to_mark"], marked["period_seconds"]
    return [
        Row(
            f"{marked['tasks']:,} tasks due in one minute: a scheduler's run marks them all (start-up included)",
            f"{seconds:.1f} s ({marked['tasks'] / marked['run_span_seconds']:,.0f} tasks/s)",
            f"one check period, {period:g} s",
            seconds / period,
            f"≤ 1{TIMES}: all within two periods",
            seconds <= period,
            overdue.get("date", "")[:10],
        )
    ]
