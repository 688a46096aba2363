"""Auth routes: register, log in, and who am I."""

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import JSONBody

from api.dependencies import Context, ServicesDep, provide_anonymous
from api.openapi import BEARER, problems
from api.schemas import LoginBody, RegisterBody, SessionResponse
from application.users import LogIn, RegisterUser, Session, get_user, log_in, register_user
from application.views import UserView


def _session(session: Session) -> SessionResponse:
    return SessionResponse(user=session.user, access_token=session.access.token, expires_in=session.access.expires_in)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    dependencies = {"ctx": Provide(provide_anonymous, sync_to_thread=False)}

    @post("/register", operation_id="register", responses=problems(400, 409, 413, 415, 503))
    async def register(self, data: JSONBody[RegisterBody], ctx: Context, services: ServicesDep) -> SessionResponse:
        """Create an account and log in."""
        command = RegisterUser(email=data.email, name=data.name, password=data.password)
        return _session(await register_user(command, ctx, services))

    @post("/login", operation_id="login", status_code=200, responses=problems(400, 401, 413, 415, 503))
    async def login(self, data: JSONBody[LoginBody], ctx: Context, services: ServicesDep) -> SessionResponse:
        """Exchange an email and password for an access token."""
        return _session(await log_in(LogIn(email=data.email, password=data.password), ctx, services))


class MeController(Controller):
    path = "/auth/me"
    tags = ["auth"]
    security = BEARER

    @get(operation_id="me", responses=problems(401, 503))
    async def me(self, ctx: Context, services: ServicesDep) -> UserView:
        """The caller's own user."""
        assert ctx.actor is not None
        return await get_user(ctx.actor.user_id, ctx, services)
