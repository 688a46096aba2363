"""The liveness file of the processes without an HTTP port: there while the process runs, gone when it stops."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from infrastructure.settings import Settings
from tests.e2e.processes import servers_environment

WAIT_SECONDS = 30.0


def test_projector_scheduler_and_worker_keep_a_heartbeat_file(settings: Settings, tmp_path: Path) -> None:
    env = servers_environment(
        settings,
    )
    started = {}
    for kind in ("projector", "scheduler", "worker"):
        beat = tmp_path / f"{kind}.alive"
        log = (tmp_path / f"{kind}.log").open("wb")
        command = [sys.executable, "-m", "cli", kind]
        process = subprocess.Popen(command, env=env | {"TASKFLOW_HEARTBEAT_FILE": str(beat)}, stdout=log, stderr=log)
        started[kind] = (process, beat)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not all(beat.exists() for _, beat in started.values()):
            assert time.monotonic() < deadline, [kind for kind, (_, beat) in started.items() if not beat.exists()]
            assert all(process.poll() is None for process, _ in started.values())
            time.sleep(0.2)
        for kind, (_, beat) in started.items():
            assert time.time() - beat.stat().st_mtime < 10, kind
    finally:
        for process, _ in started.values():
            process.send_signal(signal.SIGTERM)
        for process, _ in started.values():
            assert process.wait(30) == 0
    assert not any(beat.exists() for _, beat in started.values()), "removed when the process stops"
