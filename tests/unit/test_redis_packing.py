"""Commands packed by hiredis are the bytes redis-py would send, whatever the connection's kind."""

from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import DataError

from infrastructure.redis.packing import pack_with_hiredis

COMMANDS = [
    ("EVALSHA", "a" * 40, 2, "ns:{u:1}:access", "ns:{u:1}:window", repr(1733000000.123456), 1000, 60, b"\x00\xff"),
    ("SCRIPT LOAD", "return 1"),
    ("SET", "k", "é" * 3, "EX", 60),
    ("X", 1e-7, -5, 2**70, 0.1 + 0.2, float("inf"), -0.0, memoryview(b"ab")),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: str(command[0]))
def test_the_bytes_are_redis_pys(command: tuple[Any, ...]) -> None:
    client = pack_with_hiredis(aioredis.Redis.from_url("redis://localhost"))
    packed = client.connection_pool.connection_class()
    assert b"".join(packed.pack_command(*command)) == b"".join(Connection().pack_command(*command))


def test_a_value_redis_cannot_take_is_refused_as_redis_py_refuses_it() -> None:
    packed = pack_with_hiredis(aioredis.Redis.from_url("redis://localhost")).connection_pool.connection_class()
    with pytest.raises(DataError):
        packed.pack_command("SET", "k", None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://localhost:6379/0", Connection),
        ("rediss://localhost:6379/0", SSLConnection),
        ("unix:///tmp/redis.sock", UnixDomainSocketConnection),
    ],
)
def test_the_connection_stays_of_the_kind_its_url_names(url: str, kind: type) -> None:
    client = pack_with_hiredis(pack_with_hiredis(aioredis.Redis.from_url(url)))
    assert issubclass(client.connection_pool.connection_class, kind)
    assert client.connection_pool.connection_class.__name__ == f"Packed{kind.__name__}"
