"""Who is acting, and on behalf of which request."""

from uuid import UUID

import msgspec

from application.records import EventMetadata
from domain.values import Role


class Actor(msgspec.Struct, frozen=True):
    user_id: UUID
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_act_on(self, owner_id: UUID) -> bool:
        """Users act on their own things only; admins on all."""
        return self.is_admin or owner_id == self.user_id


class RequestContext(msgspec.Struct, frozen=True):
    """The actor (None before login) and the ids every event of the request carries."""

    actor: Actor | None
    request_id: str | None = None
    correlation_id: str | None = None

    def metadata(self) -> EventMetadata:
        return EventMetadata(
            actor_id=str(self.actor.user_id) if self.actor else None,
            correlation_id=self.correlation_id or self.request_id,
            causation_id=self.request_id,
            request_id=self.request_id,
        )


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    expires_in: int
