"""The table's rows of bench/writes.py: appends, POST /tasks, the batch, the long log, the write-path candidates."""

from typing import Any

from rows import TIMES, Row, at_least


def append_rows(writes: dict[str, Any]) -> list[Row]:
    found: list[Row] = []
    date = writes.get("date", "")[:10]
    for clients, run in writes.get("appends", {}).items():
        store = run["store"]["rate"]
        target, met = at_least(store / run["pgbench"], 0.5)
        found.append(
            Row(
                f"append, 1 event to a new stream, {clients} client(s)",
                f"{store:,.0f}/s",
                f"pgbench {run['pgbench']:,.0f}/s",
                store / run["pgbench"],
                target,
                met,
                date,
            )
        )
        target, met = at_least(store / run["eventsourcing"], 3)
        found.append(
            Row(
                f"append vs eventsourcing, {clients} client(s)",
                f"{store:,.0f}/s",
                f"eventsourcing {run['eventsourcing']:,.0f}/s",
                store / run["eventsourcing"],
                target,
                met,
                date,
            )
        )
    if post := writes.get("post"):
        ratio = post["post_tasks"]["rps"] / post["pgbench"]
        target, met = at_least(ratio, 0.4)
        found.append(
            Row(
                "`POST /tasks`, 32 connections",
                f"{post['post_tasks']['rps']:,.0f}/s",
                f"pgbench same transaction {post['pgbench']:,.0f}/s",
                ratio,
                target,
                met,
                date,
            )
        )
    if (post := writes.get("post")) and "pgbench_minimal" in post:
        for label, key in (
            ("`taskflow serve`", "post_tasks"),
            ("the whole service (`taskflow run`)", "post_tasks_whole_service"),
        ):
            ratio = post[key]["rps"] / post["pgbench_minimal"]
            target, met = at_least(ratio, 0.2)
            found.append(
                Row(
                    f"`POST /tasks`, 32 connections, {label}",
                    f"{post[key]['rps']:,.0f}/s",
                    f"pgbench minimal two-row transaction {post['pgbench_minimal']:,.0f}/s",
                    ratio,
                    target,
                    met,
                    date,
                )
            )
    if (post := writes.get("post")) and "post_floor" in post:
        ratio = post["post_tasks"]["rps"] / post["post_floor"]["rps"]
        found.append(
            Row(
                "`POST /tasks` vs the stack's floor for a create, 32 connections",
                f"{post['post_tasks']['rps']:,.0f}/s",
                f"`POST /bench/floor` (token, Redis, two-row statement, Redis) {post['post_floor']['rps']:,.0f}/s",
                ratio,
                "(context)",
                True,
                date,
            )
        )
    return found


def batch_rows(writes: dict[str, Any]) -> list[Row]:
    found: list[Row] = []
    date = writes.get("date", "")[:10]
    if batch := writes.get("batch"):
        ratio = batch["singles_seconds"] / batch["batch_seconds"]
        target, met = at_least(ratio, 20)
        found.append(
            Row(
                "batch complete of 1,000 vs 1,000 single completes",
                f"{batch['batch_seconds'] * 1000:.0f} ms",
                f"{batch['singles_seconds'] * 1000:,.0f} ms",
                ratio,
                target,
                met,
                date,
            )
        )
        rate = 1000 / batch["batch_seconds"]
        found.append(
            Row(
                "batch complete of 1,000: events per second",
                f"{rate:,.0f}/s",
                "20,000/s",
                rate / 20_000,
                f"≥ 1{TIMES}",
                rate >= 20_000,
                date,
            )
        )
        if "floor_seconds" in batch:
            floor_rate = 1000 / batch["floor_seconds"]
            found.append(
                Row(
                    "batch complete of 1,000 vs the database's floor for 1,000",
                    f"{rate:,.0f}/s",
                    f"1,000 event rows and 1,000 read rows, one statement {floor_rate:,.0f}/s",
                    rate / floor_rate,
                    "(context)",
                    True,
                    date,
                )
            )
    return found


def write_path_rows(writes: dict[str, Any]) -> list[Row]:
    found: list[Row] = []
    date = writes.get("date", "")[:10]
    if long_log := writes.get("long_log"):
        ratio = long_log["full"]["p50_ms"] / long_log["empty"]["p50_ms"]
        found.append(
            Row(
                f"append latency p50 with {long_log['events']:,} events in the log",
                f"{long_log['full']['p50_ms']:.2f} ms",
                f"{long_log['empty']['p50_ms']:.2f} ms, empty log",
                ratio,
                f"≤ 1.2{TIMES}",
                ratio <= 1.2,
                date,
            )
        )
    for clients, run in writes.get("candidates", {}).items():
        best_other = max(("transaction", "pipeline"), key=lambda name: run[name]["rate"])
        ratio = run["statement"]["rate"] / run[best_other]["rate"]
        found.append(
            Row(
                f"a create's writes as one statement (kept), {clients} client(s): rate (Python CPU)",
                f"{run['statement']['rate']:,.0f}/s ({run['statement']['cpu_us']:.0f} µs)",
                f"{best_other} {run[best_other]['rate']:,.0f}/s ({run[best_other]['cpu_us']:.0f} µs)",
                ratio,
                f"≥ 1{TIMES}",
                ratio >= 1,
                date,
            )
        )
    return found
