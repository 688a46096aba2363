"""`taskflow events`: one stream's events, and the whole log exported, as NDJSON."""

import contextlib
import sys
from typing import TYPE_CHECKING
from uuid import UUID

import click
import msgspec

from application.auditing import ListEvents, export_events
from application.stream_history import events_of_stream
from cli.runtime import OPERATOR, for_long_reads, resolved_settings, with_runtime

if TYPE_CHECKING:
    from infrastructure.bootstrap import Runtime


@click.group()
def events() -> None:
    """Read the event log."""


@events.command("history")
@click.argument("stream_id", type=click.UUID)
def events_history(stream_id: UUID) -> None:
    """Every event of one stream, in version order, one JSON object a line."""
    with resolved_settings() as settings:
        found = with_runtime(
            for_long_reads(settings), lambda runtime: events_of_stream(stream_id, OPERATOR, runtime.deps.audit)
        )
        for event in found:
            click.echo(msgspec.json.encode(event).decode())


@events.command("export")
@click.option("--after", default=None, help="Resume after this position (printed at the end of a previous export).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None, help="File (default stdout).")
def events_export(after: str | None, output: str | None) -> None:
    """The committed log in commit order, one JSON object a line; the position to resume from goes to stderr."""
    with resolved_settings() as settings:

        async def export(runtime: "Runtime") -> str | None:
            last = after
            sink_context = open(output, "wb") if output else contextlib.nullcontext(sys.stdout.buffer)  # noqa: ASYNC230, SIM115
            with sink_context as sink:
                async for position, event in export_events(ListEvents(after=after), runtime.deps.audit):
                    sink.write(msgspec.json.encode(event) + b"\n")
                    last = position
            return last

        last = with_runtime(settings, export)
    click.echo(f"next: {last}" if last else "next: (nothing exported)", err=True)
