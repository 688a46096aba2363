"""The `refund` field of a task: the task's refund as the read model has it now, or as the log had it then."""

from datetime import datetime
from uuid import UUID

import msgspec

from application.folds import refund_view
from application.ports import RefundReadModel, UnitOfWorkFactory
from application.views import TaskView


async def attach_refund(
    view: TaskView,
    refund_id: UUID | None,
    refunds: RefundReadModel,
    uow: UnitOfWorkFactory,
    as_of: datetime | None = None,
) -> TaskView:
    """`view` with its refund filled in: the read model's now, or as the log had it at `as_of`."""
    if refund_id is None:
        return view
    if as_of is None:
        refund = await refunds.get(refund_id)
    else:
        async with uow() as unit:
            refund = refund_view(await unit.events.load(refund_id, as_of=as_of))
    return msgspec.structs.replace(view, refund=refund)
