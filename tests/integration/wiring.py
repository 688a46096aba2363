"""The application's services wired as the composition root wires them, over a pool the test owns."""

import hashlib

from application.services import Services
from infrastructure.postgres import Pool
from infrastructure.read_models import PostgresTaskReadModel, PostgresUserReadModel
from infrastructure.security import Argon2Hasher, JwtTokens
from infrastructure.system import RandomIds, SystemClock
from infrastructure.unit_of_work import PostgresUnitOfWork

SECRET = b"integration-secret-" + b"x" * 32


def services_over(pool: Pool) -> Services:
    """Services like infrastructure.bootstrap.open_runtime builds, with cheap password hashing."""
    clock = SystemClock()
    return Services(
        uow=lambda: PostgresUnitOfWork(pool),
        tasks=PostgresTaskReadModel(pool),
        users=PostgresUserReadModel(pool),
        clock=clock,
        ids=RandomIds(),
        hasher=Argon2Hasher(1024, 1),
        tokens=JwtTokens(SECRET, 900, clock),
        cursor_secret=hashlib.sha256(b"keyset-cursor:" + SECRET).digest(),
    )
