"""Turn bench/results/*.json into BENCHMARKS.md's table (figure, baseline, ratio, target, ✓/✗, date, commit)
and the plots in bench/plots/. Run by `make bench` after the measurements; runs alone on the last results.

    python bench/report.py
"""

import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from read_rows import audit_rows, memory_rows, overdue_rows, read_rows, rebuild_rows
from rows import TIMES, Row, load
from write_rows import append_rows, batch_rows, write_path_rows

ROOT = Path(__file__).parent
RESULTS = ROOT / "results"
PLOTS = ROOT / "plots"
DOCUMENT = ROOT.parent / "BENCHMARKS.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def rows() -> list[Row]:
    """The table's rows, in its order."""
    writes, reads = load("writes"), load("reads")
    return [
        *append_rows(writes),
        *read_rows(reads),
        *batch_rows(writes),
        *rebuild_rows(load("rebuild")),
        *write_path_rows(writes),
        *audit_rows(load("audit")),
        *overdue_rows(load("overdue")),
        *memory_rows(reads),
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
