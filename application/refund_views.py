"""The `refund` field of a task: the task's refund as the read model has it now, or as the log had it then."""

from datetime import datetime
from uuid import UUID

import msgspec

from application.folds import refund_view
from application.services import Services
from application.views import TaskView


async def attach_refund(
    view: TaskView, refund_id: UUID | None, services: Services, as_of: datetime | None = None
) -> TaskView:
    """`view` with its refund filled in (as it stood at `as_of`, when given)."""
    if refund_id is None:
        return view
    if as_of is None:
        refund = await services.refunds.get(refund_id)
    else:
        async with services.uow() as uow:
            refund = refund_view(await uow.events.load(refund_id, as_of=as_of))
    return msgspec.structs.replace(view, refund=refund)
