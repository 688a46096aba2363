"""User administration routes."""

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch
from litestar.params import FromPath, QueryParameter

from api.dependencies import Context, Users
from api.hooks import authenticated
from api.openapi import BEARER, problems
from api.schemas import named_body
from application.users import change_role, get_user, list_users
from application.views import UserPage, UserView
from domain.users import ChangeRole


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    security = BEARER
    before_request = staticmethod(authenticated)

    @get(operation_id="listUsers", responses=problems(400, 401, 403, 429, 503))
    async def list(
        self,
        ctx: Context,
        users: Users,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=100)] = 20,
        cursor: Annotated[str | None, QueryParameter(name="cursor", required=False, max_length=512)] = None,
    ) -> UserPage:
        """Every user, oldest first (admins only)."""
        return await list_users(limit, cursor, ctx, users)

    @get("/{user_id:uuid}", operation_id="getUser", responses=problems(401, 403, 404, 429, 503))
    async def get(self, user_id: FromPath[UUID], ctx: Context, users: Users) -> UserView:
        """One user: yourself, or anyone for an admin."""
        return await get_user(user_id, ctx, users)

    @patch(
        "/{user_id:uuid}/role", operation_id="changeRole", responses=problems(400, 401, 403, 404, 413, 415, 429, 503)
    )
    async def change_role(
        self,
        user_id: FromPath[UUID],
        data: Annotated[ChangeRole, named_body("RoleBody")],
        ctx: Context,
        users: Users,
    ) -> UserView:
        """Change a user's role (admins only); it applies from the user's next access token."""
        return await change_role(user_id, data, ctx, users)
