"""Settings from the environment: one value, validated at start; a bad value is one clear line naming the variable."""

import enum
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import msgspec

from infrastructure.audit_keys import new_signing_key, parse_signing_key

T = TypeVar("T")
N = TypeVar("N", int, float)


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(Exception):
    """A configuration value that cannot be used; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Environment = Environment.DEVELOPMENT
    database_url: str | None = None
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    data_dir: Path = Path(".taskflow")
    jwt_secret: bytes
    # The Ed25519 private key (32 raw bytes) that signs the log's digests.
    audit_signing_key: bytes
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 1_209_600
    login_rate_limit: str = "10/minute"
    refresh_rate_limit: str = "60/minute"
    api_rate_limit: str = "1200/minute"
    cache_ttl_seconds: int = 60
    refund_gateway_url: str | None = None
    refund_retry_base_seconds: float = 2.0
    refund_retry_max_seconds: float = 300.0
    refund_max_attempts: int = 5
    refund_gateway_timeout_seconds: float = 10.0
    # A job whose worker went silent (killed, hung) this long is delivered again; longer than a gateway call.
    job_redelivery_seconds: float = 60.0
    worker_concurrency: int = 8
    # How often each scheduler looks for tasks that have passed their due date.
    overdue_check_seconds: float = 60.0
    # How long a stopping process may take to finish what it is doing (requests, jobs) before it is cut short.
    shutdown_seconds: float = 20.0
    # Touched every few seconds by the projector, scheduler and worker while they run, for container health checks.
    heartbeat_file: Path | None = None
    # Where the projector, scheduler and worker serve their own /metrics (the API serves it on its own port).
    metrics_port: int | None = None
    # Benchmarks only: the API also serves /bench/floor, the least an authenticated cached read must do.
    bench_floor: bool = False
    # The bearer token a scrape of /metrics must bring (None: /metrics is open; required in production).
    metrics_token: str | None = None
    log_level: str = "INFO"
    database_pool_size: int = 10
    database_timeout_seconds: float = 5.0
    redis_timeout_seconds: float = 0.25
    redis_namespace: str = "taskflow"
    cors_origins: tuple[str, ...] = ()
    # OWASP's argon2id baseline; tests lower it to keep the suite fast.
    argon2_memory_kib: int = 19_456
    argon2_rounds: int = 2


_RATE = re.compile(r"^\d+/(second|minute|hour|day)$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_SECRET_BYTES = 32
MIN_METRICS_TOKEN_CHARACTERS = 16


def _parse(env: Mapping[str, str], name: str, convert: Callable[[str], T], default: T, rule: str) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return convert(raw)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{name}={raw!r} is invalid: {rule}") from exc


def _number_in(kind: Callable[[str], N], low: N, high: N) -> Callable[[str], N]:
    def convert(raw: str) -> N:
        value = kind(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return convert


def _int_in(low: int, high: int) -> Callable[[str], int]:
    return _number_in(int, low, high)


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(raw)
    return value


def _rate(raw: str) -> str:
    if not _RATE.match(raw):
        raise ValueError(raw)
    return raw


def _log_level(raw: str) -> str:
    if raw.upper() not in _LOG_LEVELS:
        raise ValueError(raw)
    return raw.upper()


def _url(*schemes: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if not raw.startswith(schemes):
            raise ValueError(raw)
        return raw

    return convert


def _namespace(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", raw):
        raise ValueError(raw)
    return raw


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(origin.strip() for origin in raw.split(",") if origin.strip())
    if not all(origin.startswith(("http://", "https://")) for origin in origins):
        raise ValueError(raw)
    return origins


def _jwt_secret(env: Mapping[str, str], environment: Environment, data_dir: Path) -> bytes:
    raw = env.get("TASKFLOW_JWT_SECRET")
    if raw:
        if len(raw.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"TASKFLOW_JWT_SECRET is invalid: it must be at least {MIN_SECRET_BYTES} bytes")
        return raw.encode()
    if environment is Environment.PRODUCTION:
        raise SettingsError("TASKFLOW_JWT_SECRET is required when TASKFLOW_ENV=production")
    return _kept(data_dir / "jwt-secret", lambda: secrets.token_urlsafe(48)).encode()


def _audit_signing_key(env: Mapping[str, str], environment: Environment, data_dir: Path) -> bytes:
    name = "TASKFLOW_AUDIT_SIGNING_KEY"
    raw = env.get(name)
    if not raw:
        if environment is Environment.PRODUCTION:
            raise SettingsError(f"{name} is required when TASKFLOW_ENV=production")
        raw = _kept(data_dir / "audit-signing-key", new_signing_key)
    try:
        return parse_signing_key(raw)
    except ValueError:
        # The value is not echoed: it may be the key itself, mistyped.
        raise SettingsError(
            f"{name} is invalid: give an Ed25519 private key (32 bytes in base64) or the path of a file holding one"
        ) from None


def _kept(path: Path, make: Callable[[], str]) -> str:
    """Development: a secret generated once and kept beside the embedded data (owner-only), so it survives restarts."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(make())
    return path.read_text().strip()


def _flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(value)
    return value == "1"


def _metrics_token(env: Mapping[str, str], environment: Environment) -> str | None:
    # Not through _parse: a refused value must not be echoed into the logs.
    raw = env.get("TASKFLOW_METRICS_TOKEN")
    if raw:
        if len(raw) < MIN_METRICS_TOKEN_CHARACTERS or not re.fullmatch(r"[\x21-\x7e]+", raw):
            raise SettingsError(
                f"TASKFLOW_METRICS_TOKEN is invalid: it must be at least {MIN_METRICS_TOKEN_CHARACTERS} printable"
                " ASCII characters, without spaces"
            )
        return raw
    if environment is Environment.PRODUCTION:
        raise SettingsError("TASKFLOW_METRICS_TOKEN is required when TASKFLOW_ENV=production")
    return None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every TASKFLOW_* variable (and HOST, PORT); SettingsError names the first bad one."""
    env = os.environ if env is None else env
    environment = _parse(env, "TASKFLOW_ENV", Environment, Environment.DEVELOPMENT, "development or production")
    data_dir = Path(env.get("TASKFLOW_DATA_DIR") or ".taskflow")
    settings = Settings(
        env=environment,
        database_url=_parse(
            env, "TASKFLOW_DATABASE_URL", _url("postgresql://", "postgres://"), None, "a postgresql:// URL"
        ),
        redis_url=_parse(env, "TASKFLOW_REDIS_URL", _url("redis://", "rediss://", "unix://"), None, "a redis:// URL"),
        host=env.get("HOST") or "127.0.0.1",
        port=_parse(env, "PORT", _int_in(1, 65535), 8000, "a port number 1-65535"),
        workers=_parse(env, "TASKFLOW_WORKERS", _int_in(1, 64), 1, "an integer 1-64"),
        data_dir=data_dir,
        jwt_secret=_jwt_secret(env, environment, data_dir),
        audit_signing_key=_audit_signing_key(env, environment, data_dir),
        access_token_ttl_seconds=_parse(
            env, "TASKFLOW_ACCESS_TOKEN_TTL_SECONDS", _int_in(60, 86_400), 900, "seconds, 60-86400"
        ),
        refresh_token_ttl_seconds=_parse(
            env, "TASKFLOW_REFRESH_TOKEN_TTL_SECONDS", _int_in(300, 31_536_000), 1_209_600, "seconds, 300-31536000"
        ),
        login_rate_limit=_parse(env, "TASKFLOW_LOGIN_RATE_LIMIT", _rate, "10/minute", "like 10/minute"),
        refresh_rate_limit=_parse(env, "TASKFLOW_REFRESH_RATE_LIMIT", _rate, "60/minute", "like 60/minute"),
        api_rate_limit=_parse(env, "TASKFLOW_API_RATE_LIMIT", _rate, "1200/minute", "like 1200/minute"),
        cache_ttl_seconds=_parse(
            env, "TASKFLOW_CACHE_TTL_SECONDS", _int_in(0, 86_400), 60, "seconds, 0-86400 (0: no cache)"
        ),
        refund_gateway_url=_parse(
            env, "TASKFLOW_REFUND_GATEWAY_URL", _url("http://", "https://"), None, "an http(s):// URL"
        ),
        refund_retry_base_seconds=_parse(
            env, "TASKFLOW_REFUND_RETRY_BASE_SECONDS", _positive_float, 2.0, "a positive number of seconds"
        ),
        refund_retry_max_seconds=_parse(
            env, "TASKFLOW_REFUND_RETRY_MAX_SECONDS", _positive_float, 300.0, "a positive number of seconds"
        ),
        refund_max_attempts=_parse(env, "TASKFLOW_REFUND_MAX_ATTEMPTS", _int_in(1, 100), 5, "an integer 1-100"),
        refund_gateway_timeout_seconds=_parse(
            env, "TASKFLOW_REFUND_GATEWAY_TIMEOUT_SECONDS", _positive_float, 10.0, "a positive number of seconds"
        ),
        job_redelivery_seconds=_parse(
            env, "TASKFLOW_JOB_REDELIVERY_SECONDS", _positive_float, 60.0, "a positive number of seconds"
        ),
        worker_concurrency=_parse(env, "TASKFLOW_WORKER_CONCURRENCY", _int_in(1, 256), 8, "an integer 1-256"),
        overdue_check_seconds=_parse(
            env, "TASKFLOW_OVERDUE_CHECK_SECONDS", _number_in(float, 0.1, 86_400.0), 60.0, "seconds, 0.1-86400"
        ),
        shutdown_seconds=_parse(
            env, "TASKFLOW_SHUTDOWN_SECONDS", _positive_float, 20.0, "a positive number of seconds"
        ),
        heartbeat_file=_parse(env, "TASKFLOW_HEARTBEAT_FILE", Path, None, "a file path"),
        metrics_port=_parse(env, "TASKFLOW_METRICS_PORT", _int_in(1, 65535), None, "a port number 1-65535"),
        metrics_token=_metrics_token(env, environment),
        database_pool_size=_parse(env, "TASKFLOW_DATABASE_POOL_SIZE", _int_in(1, 1000), 10, "an integer 1-1000"),
        database_timeout_seconds=_parse(
            env, "TASKFLOW_DATABASE_TIMEOUT_SECONDS", _positive_float, 5.0, "a positive number of seconds"
        ),
        redis_namespace=_parse(env, "TASKFLOW_REDIS_NAMESPACE", _namespace, "taskflow", "letters, digits, - and _"),
        cors_origins=_parse(env, "TASKFLOW_CORS_ORIGINS", _origins, (), "comma-separated http(s):// origins"),
        log_level=_parse(env, "TASKFLOW_LOG_LEVEL", _log_level, "INFO", "one of " + ", ".join(_LOG_LEVELS)),
        bench_floor=_parse(env, "TASKFLOW_BENCH_FLOOR", _flag, False, "0 or 1"),
    )
    if settings.bench_floor and environment is Environment.PRODUCTION:
        raise SettingsError("TASKFLOW_BENCH_FLOOR is invalid: benchmarks only, never with TASKFLOW_ENV=production")
    if settings.job_redelivery_seconds <= settings.refund_gateway_timeout_seconds:
        # Otherwise a job still waiting on the gateway would be handed to a second worker.
        raise SettingsError(
            "TASKFLOW_JOB_REDELIVERY_SECONDS is invalid: it must be longer than TASKFLOW_REFUND_GATEWAY_TIMEOUT_SECONDS"
        )
    return settings
