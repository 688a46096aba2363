"""Metrics shared across processes: a forked child's counts reach the parent's scrape, though prometheus_client
was imported before the directory was chosen; a directory made for the run is removed after it."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os
    from infrastructure import metrics  # imports prometheus_client first, as the CLI does

    with metrics.shared_directory() as directory:
        child = os.fork()
        if child == 0:
            metrics.count_appended(["TaskCreated", "TaskCreated"])
            os._exit(0)
        os.waitpid(child, 0)
        metrics.count_appended(["TaskCompleted"])
        text = metrics.exposition(None).decode()
    print(text)
    print("exists after:", directory.exists())
    """
)


def test_a_forked_childs_counts_reach_the_parents_scrape() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert 'taskflow_events_appended_total{type="TaskCreated"} 2.0' in done.stdout
    assert 'taskflow_events_appended_total{type="TaskCompleted"} 1.0' in done.stdout
    assert "taskflow_database_metrics_up 0.0" in done.stdout
    assert "exists after: False" in done.stdout
