"""`taskflow audit`: check every stream and the log against a signed digest, and sign a digest to keep elsewhere."""

import base64
import binascii
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from application.audit_proofs import Digest, SignedFacts, latest_digest, signed_facts
from application.errors import InvalidInput
from cli.runtime import OPERATOR, for_long_reads, resolved_settings, with_runtime
from infrastructure.audit_keys import KEY_BYTES, Ed25519Signer, key_id, signature_verifies
from infrastructure.postgres.digest_check import check_against_digest
from infrastructure.postgres.log_audit import Finding, Report, verify_log
from infrastructure.settings import Settings

if TYPE_CHECKING:
    from infrastructure.bootstrap import Runtime


@click.group()
def audit() -> None:
    """Check the event log."""


@audit.command("verify")
@click.option(
    "--digest",
    "digest_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A digest (from `taskflow audit digest` or GET /admin/audit/digest): also check the log up to it.",
)
@click.option("--public-key", help="The key that signed it (base64, as GET /admin/audit/public-key gives it).")
def audit_verify(digest_file: Path | None, public_key: str | None) -> None:
    """Verify every stream: versions contiguous from 1, hash chains whole, positions unique; with --digest, also
    that the log's first events are exactly the ones the digest signed (exit 1 if not)."""
    if public_key is not None and digest_file is None:
        raise click.UsageError("--public-key checks a digest: give --digest too")
    with resolved_settings() as settings:
        facts = None
        if digest_file is not None:
            facts = _trusted_facts(_read_digest(digest_file), _public_key(public_key, settings))

        async def verify(runtime: "Runtime") -> tuple[Report, list[Finding]]:
            report = await verify_log(runtime.pool)
            return report, (await check_against_digest(runtime.pool, facts) if facts else [])

        report, differences = with_runtime(for_long_reads(settings), verify)
    for finding in [*report.findings, *differences]:
        click.echo(str(finding))
    if not report.whole or differences:
        count = len(report.findings) + len(differences)
        raise SystemExit(f"the log is NOT whole: {count} finding(s) in {report.streams} streams")
    click.echo(f"the log is whole: {report.events} events in {report.streams} streams verified")
    if facts is not None:
        click.echo(f"its first {facts.tree_size} events are the ones the digest signed at {facts.signed_at}")


@audit.command("digest")
def audit_digest() -> None:
    """Sign the log's Merkle tree as it is now and print the digest (JSON) for an auditor to keep elsewhere."""
    with resolved_settings() as settings:
        digest = with_runtime(for_long_reads(settings), lambda runtime: latest_digest(OPERATOR, runtime.deps.digests))
    click.echo(msgspec.json.format(msgspec.json.encode(digest), indent=2).decode())


def _read_digest(path: Path) -> Digest:
    try:
        return msgspec.json.decode(path.read_bytes(), type=Digest, strict=True)
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise click.ClickException(f"{path} is not a digest ({exc})") from None


def _public_key(given: str | None, settings: Settings) -> bytes:
    """The key that must have signed the digest: the one given, else the configured signing key's."""
    if given is None:
        return Ed25519Signer(settings.audit_signing_key).public_key
    try:
        raw = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise click.BadParameter("give the 32 bytes of an Ed25519 public key in base64", param_hint="--public-key")
    return raw


def _trusted_facts(digest: Digest, public_key: bytes) -> SignedFacts:
    """The digest's facts, once its signature verifies with `public_key`; refused otherwise."""
    if digest.key_id != key_id(public_key):
        raise click.ClickException(f"the digest names key {digest.key_id}, not this key ({key_id(public_key)})")
    if not signature_verifies(public_key, digest.signed_payload.encode(), digest.signature):
        raise click.ClickException("the digest's signature does not verify: it is not this key's, or it was changed")
    try:
        return signed_facts(digest)
    except InvalidInput as error:
        raise click.ClickException(f"the digest is refused: {error.field} {error.message}") from None
