"""Turn bench/results/*.json into BENCHMARKS.md's table (figure, baseline, ratio, target, ✓/✗, date, commit)
and the plots in bench/plots/. Run by `make bench` after the measurements; runs alone on the last results.

    python bench/report.py
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).parent
RESULTS = ROOT / "results"
PLOTS = ROOT / "plots"
DOCUMENT = ROOT.parent / "BENCHMARKS.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
TIMES = "\u00d7"


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    baseline: str
    ratio: float
    target: str
    met: bool
    date: str


def load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    found: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return found


def at_least(ratio: float, target: float) -> tuple[str, bool]:
    return f"≥ {target:g}{TIMES}" if target >= 1 else f"≥ {target:.0%}", ratio >= target


def rows() -> list[Row]:
    found: list[Row] = []
    writes, reads, rebuild = load("writes"), load("reads"), load("rebuild")
    wdate, rdate, bdate = (d.get("date", "")[:10] for d in (writes, reads, rebuild))
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
                wdate,
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
                wdate,
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
                wdate,
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
                    wdate,
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
                wdate,
            )
        )
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
                rdate,
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
                    rdate,
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
                    rdate,
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
                rdate,
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
                    rdate,
                )
            )
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
                wdate,
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
                wdate,
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
                    wdate,
                )
            )
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
                bdate,
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
                bdate,
            )
        )
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
                wdate,
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
                wdate,
            )
        )
    found += audit_rows(load("audit"))
    found += overdue_rows(load("overdue"))
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
                rdate,
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


def _line_plot(name: str, xs: list[int], lines: dict[str, list[float]], xlabel: str, ylabel: str, title: str) -> str:
    """One PNG in bench/plots: a line per series against a logarithmic x axis; returns its file name."""
    figure, axes = plt.subplots(figsize=(6, 4))
    for label, ys in lines.items():
        axes.plot(xs, ys, marker="o", label=label)
    axes.set(xscale="log", xlabel=xlabel, ylabel=ylabel, title=title)
    axes.set_ylim(bottom=0)
    axes.legend()
    figure.tight_layout()
    figure.savefig(PLOTS / name, dpi=100)
    plt.close(figure)
    return name


def plot() -> list[str]:
    PLOTS.mkdir(exist_ok=True)
    made: list[str] = []
    latency = load("reads").get("latency", {})
    if latency:
        sizes = sorted(latency, key=int)
        series = {
            f"{page.replace('_', ' ')} {quantile[:3]}": [latency[s][page][quantile] for s in sizes]
            for page in ("first_page", "deep_page")
            for quantile in ("p50_ms", "p99_ms")
        }
        made.append(
            _line_plot(
                "latency_vs_size.png",
                [int(s) for s in sizes],
                series,
                "tasks in the read model",
                "latency (ms)",
                "GET /tasks?limit=20 latency against data size",
            )
        )
    appends = load("writes").get("appends", {})
    if appends:
        clients = sorted(appends, key=int)
        series = {
            "TaskFlow EventStore": [appends[c]["store"]["rate"] for c in clients],
            "pgbench, same row": [appends[c]["pgbench"] for c in clients],
            "eventsourcing (PostgreSQL)": [appends[c]["eventsourcing"] for c in clients],
        }
        made.append(
            _line_plot(
                "appends_vs_concurrency.png",
                [int(c) for c in clients],
                series,
                "concurrent clients",
                "appends per second",
                "Append throughput against concurrency",
            )
        )
    return made


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md", ":!bench/plots"],
        capture_output=True,
        text=True,
    )
    return head + ("+changes" if dirty.stdout.strip() else "")


def main() -> None:
    table = [
        "| figure | measured | baseline (same run) | ratio | target | | date | commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    revision = commit()
    for row in rows():
        table.append(
            f"| {row.figure} | {row.measured} | {row.baseline} | {row.ratio:.2f}{TIMES} | {row.target} |"
            f" {'✓' if row.met else '✗'} | {row.date} | `{revision}` |"
        )
    images = [f"![{name}](bench/plots/{name})" for name in plot()]
    block = "\n".join([START, *table, "", *images, END])
    text = DOCUMENT.read_text()
    if START in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.replace("\n## ", f"\n## Latest figures\n\n{block}\n\n## ", 1)
    DOCUMENT.write_text(text)
    print("\n".join(table))


if __name__ == "__main__":
    main()
