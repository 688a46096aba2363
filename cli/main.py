"""The `taskflow` command: every group and command, each defined in the module named for it."""

import click

from cli import audit, database, events, jobs, processes, projections


@click.group()
def main() -> None:
    """TaskFlow: an event-sourced task service."""


for command in (
    database.migrate,
    database.seed,
    processes.run,
    processes.serve,
    processes.projector,
    processes.worker,
    processes.scheduler,
    projections.projections,
    events.events,
    audit.audit,
    jobs.jobs,
):
    main.add_command(command)
