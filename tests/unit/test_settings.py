"""Settings from the environment: defaults, every variable read, and one clear line for a bad value."""

import base64
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from infrastructure.settings import Settings, SettingsError, load_settings

SECRET = "x" * 40


def settings_from(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"TASKFLOW_JWT_SECRET": SECRET, "TASKFLOW_DATA_DIR": str(tmp_path)} | env)


class TestRefundsAndOperations:
    def test_defaults(self, tmp_path: Path) -> None:
        settings = settings_from(tmp_path)
        assert (settings.refund_retry_base_seconds, settings.refund_retry_max_seconds) == (2.0, 300.0)
        assert (settings.refund_max_attempts, settings.refund_gateway_url) == (5, None)
        assert (settings.refund_gateway_timeout_seconds, settings.job_redelivery_seconds) == (10.0, 60.0)
        assert (settings.worker_concurrency, settings.shutdown_seconds) == (8, 20.0)
        assert (settings.database_pool_size, settings.database_timeout_seconds) == (10, 5.0)
        assert settings.heartbeat_file is None
        assert settings.metrics_port is None
        assert settings.overdue_check_seconds == 60.0

    def test_each_is_read(self, tmp_path: Path) -> None:
        settings = settings_from(
            tmp_path,
            TASKFLOW_REFUND_GATEWAY_URL="https://pay.example.com/refunds",
            TASKFLOW_REFUND_RETRY_BASE_SECONDS="0.5",
            TASKFLOW_REFUND_RETRY_MAX_SECONDS="30",
            TASKFLOW_REFUND_MAX_ATTEMPTS="7",
            TASKFLOW_REFUND_GATEWAY_TIMEOUT_SECONDS="3",
            TASKFLOW_JOB_REDELIVERY_SECONDS="9",
            TASKFLOW_WORKER_CONCURRENCY="4",
            TASKFLOW_SHUTDOWN_SECONDS="12",
            TASKFLOW_DATABASE_POOL_SIZE="25",
            TASKFLOW_DATABASE_TIMEOUT_SECONDS="1.5",
            TASKFLOW_HEARTBEAT_FILE="/run/taskflow/alive",
            TASKFLOW_METRICS_PORT="9100",
            TASKFLOW_OVERDUE_CHECK_SECONDS="2.5",
        )
        assert settings.refund_gateway_url == "https://pay.example.com/refunds"
        assert (settings.refund_retry_base_seconds, settings.refund_retry_max_seconds) == (0.5, 30.0)
        assert (settings.refund_max_attempts, settings.refund_gateway_timeout_seconds) == (7, 3.0)
        assert (settings.job_redelivery_seconds, settings.worker_concurrency) == (9.0, 4)
        assert (settings.shutdown_seconds, settings.database_pool_size) == (12.0, 25)
        assert settings.database_timeout_seconds == 1.5
        assert settings.heartbeat_file == Path("/run/taskflow/alive")
        assert settings.metrics_port == 9100
        assert settings.overdue_check_seconds == 2.5

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("TASKFLOW_REFUND_GATEWAY_URL", "ftp://pay"),
            ("TASKFLOW_REFUND_MAX_ATTEMPTS", "0"),
            ("TASKFLOW_REFUND_RETRY_BASE_SECONDS", "-1"),
            ("TASKFLOW_WORKER_CONCURRENCY", "many"),
            ("TASKFLOW_SHUTDOWN_SECONDS", "soon"),
            ("TASKFLOW_DATABASE_POOL_SIZE", "0"),
            ("TASKFLOW_METRICS_PORT", "70000"),
            ("TASKFLOW_OVERDUE_CHECK_SECONDS", "0"),
            ("TASKFLOW_OVERDUE_CHECK_SECONDS", "hourly"),
            ("TASKFLOW_OVERDUE_CHECK_SECONDS", "86401"),
        ],
    )
    def test_a_bad_value_names_its_variable(self, tmp_path: Path, name: str, value: str) -> None:
        with pytest.raises(SettingsError, match=f"^{re.escape(name)}="):
            settings_from(tmp_path, **{name: value})

    def test_redelivery_must_outlast_a_gateway_call(self, tmp_path: Path) -> None:
        with pytest.raises(SettingsError, match=r"^TASKFLOW_JOB_REDELIVERY_SECONDS is invalid"):
            settings_from(tmp_path, TASKFLOW_JOB_REDELIVERY_SECONDS="5", TASKFLOW_REFUND_GATEWAY_TIMEOUT_SECONDS="10")


class TestAuditSigningKey:
    def test_the_key_itself_in_base64(self, tmp_path: Path) -> None:
        key = bytes(range(32))
        settings = settings_from(tmp_path, TASKFLOW_AUDIT_SIGNING_KEY=base64.b64encode(key).decode())
        assert settings.audit_signing_key == key

    def test_a_file_holding_it_in_base64_or_as_pem(self, tmp_path: Path) -> None:
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        (tmp_path / "key.pem").write_bytes(pem)
        (tmp_path / "key.b64").write_text(base64.b64encode(raw).decode() + "\n")
        for name in ("key.pem", "key.b64"):
            settings = settings_from(tmp_path, TASKFLOW_AUDIT_SIGNING_KEY=str(tmp_path / name))
            assert settings.audit_signing_key == raw, name

    def test_anything_else_is_refused_without_echoing_it(self, tmp_path: Path) -> None:
        other = ec.generate_private_key(ec.SECP256R1())
        pem = other.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        (tmp_path / "ec.pem").write_bytes(pem)
        for value in (base64.b64encode(b"too short").decode(), str(tmp_path / "missing"), str(tmp_path / "ec.pem")):
            with pytest.raises(SettingsError, match=r"^TASKFLOW_AUDIT_SIGNING_KEY is invalid") as refused:
                settings_from(tmp_path, TASKFLOW_AUDIT_SIGNING_KEY=value)
            assert value not in str(refused.value)

    def test_required_in_production(self, tmp_path: Path) -> None:
        with pytest.raises(SettingsError, match=r"^TASKFLOW_AUDIT_SIGNING_KEY is required when TASKFLOW_ENV=prod"):
            settings_from(tmp_path, TASKFLOW_ENV="production")

    def test_generated_once_into_the_data_dir_in_development(self, tmp_path: Path) -> None:
        first = settings_from(tmp_path).audit_signing_key
        assert len(first) == 32
        assert (tmp_path / "audit-signing-key").stat().st_mode & 0o777 == 0o600
        assert settings_from(tmp_path).audit_signing_key == first


class TestMetricsToken:
    def test_unset_in_development_read_when_set(self, tmp_path: Path) -> None:
        assert settings_from(tmp_path).metrics_token is None
        assert settings_from(tmp_path, TASKFLOW_METRICS_TOKEN="t" * 16).metrics_token == "t" * 16

    def test_production_refuses_to_start_without_it(self, tmp_path: Path) -> None:
        audit_key = base64.b64encode(bytes(32)).decode()  # production's other required secret, given
        with pytest.raises(SettingsError, match=r"^TASKFLOW_METRICS_TOKEN is required when TASKFLOW_ENV=production$"):
            settings_from(tmp_path, TASKFLOW_ENV="production", TASKFLOW_AUDIT_SIGNING_KEY=audit_key)
        assert settings_from(
            tmp_path, TASKFLOW_ENV="production", TASKFLOW_AUDIT_SIGNING_KEY=audit_key, TASKFLOW_METRICS_TOKEN="t" * 16
        ).metrics_token

    @pytest.mark.parametrize("value", ["short", "sixteen chars with spaces", "t" * 15, "tok\u00e9n-of-sixteen-chars"])
    def test_a_weak_or_unsendable_token_is_refused_without_being_echoed(self, tmp_path: Path, value: str) -> None:
        with pytest.raises(SettingsError, match=r"^TASKFLOW_METRICS_TOKEN is invalid: ") as refused:
            settings_from(tmp_path, TASKFLOW_METRICS_TOKEN=value)
        assert value not in str(refused.value)


class TestRefreshRateLimit:
    def test_default_and_read(self, tmp_path: Path) -> None:
        assert settings_from(tmp_path).refresh_rate_limit == "60/minute"
        assert settings_from(tmp_path, TASKFLOW_REFRESH_RATE_LIMIT="5/second").refresh_rate_limit == "5/second"
        with pytest.raises(SettingsError, match=r"^TASKFLOW_REFRESH_RATE_LIMIT='often' is invalid"):
            settings_from(tmp_path, TASKFLOW_REFRESH_RATE_LIMIT="often")
