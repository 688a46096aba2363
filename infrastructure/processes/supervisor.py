"""`taskflow run`'s supervision: child processes side by side until one exits or a signal, stopped in reverse."""

import signal
import subprocess
import time
from collections.abc import Sequence


def run_side_by_side(commands: Sequence[Sequence[str]], env: dict[str, str], shutdown_seconds: float) -> None:
    """Start each command with `env`; when one exits, or on SIGTERM or SIGINT, stop them all, the last first."""
    children = [subprocess.Popen(list(command), env=env) for command in commands]
    _supervise(children, shutdown_seconds)


def _supervise(children: list[subprocess.Popen[bytes]], shutdown_seconds: float) -> None:
    """Wait until a child exits or we are told to stop; then stop the children one by one, in reverse order."""
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        # In order: the API stops taking requests first, then the worker finishes its jobs, then the scheduler
        # and the projector. Each gets TASKFLOW_SHUTDOWN_SECONDS (and a little more) before it is killed.
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(shutdown_seconds + 5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
