"""`taskflow projections`: list the read models, where each stands, and rebuild them from the log."""

import time
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from application.auditing import projection_states
from application.projections.registry import PROJECTIONS, rebuildable
from cli.runtime import OPERATOR, for_long_reads, resolved_settings, with_runtime
from infrastructure.postgres.rebuild import events_to_read, rebuild

if TYPE_CHECKING:
    from infrastructure.bootstrap import Runtime


@click.group()
def projections() -> None:
    """The read models built from the log."""


@projections.command("list")
def projections_list() -> None:
    """Every projection, and whether it runs inline (in the append) or follows the log."""
    for projection in PROJECTIONS:
        click.echo(f"{projection.name}\t{projection.mode}")


@projections.command("status")
def projections_status() -> None:
    """Each projection's position, lag and status."""
    with resolved_settings() as settings:
        states = with_runtime(for_long_reads(settings), lambda runtime: projection_states(OPERATOR, runtime.deps.audit))
    click.echo("name\tposition\tlag\tstatus")
    for state in states:
        click.echo(f"{state.name}\t{state.position}\t{state.lag}\t{state.status}")


class EventsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:>10,.0f} events/s")


@projections.command("rebuild")
@click.argument("name", required=False, type=click.Choice(sorted(rebuildable())))
@click.option("--all", "everything", is_flag=True, help="Rebuild every projection.")
def projections_rebuild(name: str | None, everything: bool) -> None:
    """Rebuild a projection from the log beside the live tables, then swap it in (the API keeps serving)."""
    if everything == (name is not None):
        raise click.UsageError("name one projection, or --all")
    names = sorted(rebuildable()) if everything else [name or ""]
    with resolved_settings() as settings:

        async def rebuild_each(runtime: "Runtime") -> None:
            assert settings.database_url is not None
            for each in names:
                await _rebuild(runtime, settings.database_url, each)

        with_runtime(for_long_reads(settings), rebuild_each)


async def _rebuild(runtime: "Runtime", database_url: str, name: str) -> None:
    """One rebuild, with a progress bar and its rate."""
    total = await events_to_read(runtime.pool, name)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), EventsPerSecond())
    started = time.monotonic()
    with Progress(*columns, TimeRemainingColumn(), transient=False) as progress:
        task = progress.add_task(f"rebuild {name}", total=total)
        read = await rebuild(database_url, name, lambda n: progress.advance(task, n))
    seconds = max(time.monotonic() - started, 1e-6)
    click.echo(f"rebuilt {name}: {read} events in {seconds:.1f} s ({read / seconds:,.0f} events/s)")
