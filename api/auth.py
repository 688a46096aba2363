"""Auth routes: register, log in, refresh, log out, and who am I."""

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import Provide

from api.dependencies import Context, Users, provide_anonymous
from api.hooks import authenticated
from api.openapi import BEARER, problems
from api.schemas import SessionResponse, named_body
from application.sessions import Session, SessionToken, log_out, refresh
from application.users import LogIn, RegisterUser, get_user, log_in, register_user
from application.views import UserView

RefreshBody = Annotated[SessionToken, named_body("RefreshBody")]


def _session(session: Session) -> SessionResponse:
    return SessionResponse(
        user=session.user,
        access_token=session.access.token,
        refresh_token=session.refresh_token,
        expires_in=session.access.expires_in,
    )


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    dependencies = {"ctx": Provide(provide_anonymous, sync_to_thread=False)}

    @post("/register", operation_id="register", responses=problems(400, 409, 413, 415, 429, 503))
    async def register(
        self, data: Annotated[RegisterUser, named_body("RegisterBody")], ctx: Context, users: Users
    ) -> SessionResponse:
        """Create an account and log in."""
        return _session(await register_user(data, ctx, users))

    @post("/login", operation_id="login", status_code=200, responses=problems(400, 401, 413, 415, 429, 503))
    async def login(
        self, data: Annotated[LogIn, named_body("LoginBody")], ctx: Context, users: Users
    ) -> SessionResponse:
        """Exchange an email and password for an access and a refresh token."""
        return _session(await log_in(data, ctx, users))

    @post("/refresh", operation_id="refresh", status_code=200, responses=problems(400, 401, 413, 415, 429, 503))
    async def refresh(self, data: RefreshBody, ctx: Context, users: Users) -> SessionResponse:
        """Rotate a refresh token: it is spent, and a new pair is returned."""
        return _session(await refresh(data.refresh_token, ctx, users))


class SessionController(Controller):
    """Routes that need the caller's bearer token."""

    path = "/auth"
    tags = ["auth"]
    security = BEARER
    before_request = staticmethod(authenticated)

    @post("/logout", operation_id="logout", status_code=204, responses=problems(400, 401, 413, 415, 429, 503))
    async def logout(self, data: RefreshBody, ctx: Context, users: Users) -> None:
        """Revoke the refresh token's family and the access token of this request."""
        await log_out(data.refresh_token, ctx, users)

    @get("/me", operation_id="me", responses=problems(401, 404, 429, 503))
    async def me(self, ctx: Context, users: Users) -> UserView:
        """The caller's own user."""
        assert ctx.actor is not None
        return await get_user(ctx.actor.user_id, ctx, users)
