"""Checking the log against a signed digest by recomputing its root from the events, not the service's tree."""

from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from application import rfc6962
from application.audit_proofs import SignedFacts
from infrastructure.postgres.audit_tree import read_nodes
from infrastructure.postgres.log_audit import Finding
from infrastructure.postgres.pool import Pool

BATCH = 5_000
# Differences named one by one, per kind; the rest are counted.
NAMED = 10

# Both sides of each event that differs: as signed (the tree's leaves below the size), and in the log now.
_DIFFERENCES = """
WITH log AS (
    SELECT row_number() OVER (ORDER BY transaction_id, position) - 1 AS leaf_index,
           position, stream_id, version, sha256(decode('00', 'hex') || hash) AS leaf_hash
    FROM events ORDER BY transaction_id, position LIMIT %(size)s
), signed AS (
    SELECT l.leaf_index, l.position, l.stream_id, l.version, n.hash AS leaf_hash
    FROM audit_tree_leaves l JOIN audit_tree_nodes n ON n.level = 0 AND n.index = l.leaf_index
    WHERE l.leaf_index < %(size)s
)
SELECT s.leaf_index, g.leaf_index, coalesce(g.position, s.position), coalesce(g.stream_id, s.stream_id),
       coalesce(g.version, s.version), s.leaf_hash = g.leaf_hash,
       g.position IS NULL AND EXISTS (SELECT 1 FROM events e WHERE e.position = s.position)
FROM signed s FULL JOIN log g ON g.position = s.position
WHERE s.leaf_index IS DISTINCT FROM g.leaf_index OR s.leaf_hash IS DISTINCT FROM g.leaf_hash
ORDER BY coalesce(s.leaf_index, g.leaf_index)
"""


async def _rows(pool: Pool, query: str, params: dict[str, Any], name: str) -> AsyncIterator[Sequence[Any]]:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0")  # a pass over the whole log, on the operator's command
        cursor = conn.cursor(name=name)
        await cursor.execute(query, params)
        while rows := await cursor.fetchmany(BATCH):
            for row in rows:
                yield row


async def log_root(pool: Pool, size: int) -> tuple[int, bytes]:
    """How many of the log's first `size` events in commit order there are, and their Merkle root, from the events."""
    frontier = rfc6962.Frontier()
    query = "SELECT hash FROM events ORDER BY transaction_id, position LIMIT %(size)s"
    async for (hash_,) in _rows(pool, query, {"size": size}, "audit_tree_root"):
        frontier.append(rfc6962.leaf_hash(bytes(hash_)))
    return frontier.size, frontier.root()


def _describe(row: Sequence[Any]) -> tuple[str, Finding]:
    signed_leaf, leaf, position, stream_id, version, same, pushed_out = row
    if signed_leaf is None:
        return "inserted", Finding(stream_id, position, version, f"at leaf {leaf} but not in the digest (inserted)")
    if leaf is None and pushed_out:
        return "moved", Finding(stream_id, position, version, f"leaf {signed_leaf}, now past the digest's size (moved)")
    if leaf is None:
        return "gone", Finding(stream_id, position, version, f"leaf {signed_leaf} in the digest, gone from the log")
    if not same:
        return "changed", Finding(stream_id, position, version, f"leaf {leaf}: changed since the digest was signed")
    return "moved", Finding(stream_id, position, version, f"at leaf {leaf}, was leaf {signed_leaf} (moved)")


async def _differences(pool: Pool, size: int) -> list[Finding]:
    named: defaultdict[str, list[Finding]] = defaultdict(list)
    counted: Counter[str] = Counter()
    async for row in _rows(pool, _DIFFERENCES, {"size": size}, "audit_tree_differences"):
        kind, finding = _describe(row)
        counted[kind] += 1
        if len(named[kind]) < NAMED:
            named[kind].append(finding)
    findings = [finding for kind in ("gone", "changed", "inserted", "moved") for finding in named[kind]]
    for kind, count in counted.items():
        if count > NAMED:
            findings.append(_about_the_log(f"{count - NAMED} more events {kind} (not named)"))
    return findings


async def _stored_root(pool: Pool, size: int) -> bytes:
    def compute(node: rfc6962.NodeLookup) -> bytes:
        return rfc6962.root(size, node)

    async with pool.connection() as conn:
        found = await read_nodes(conn, rfc6962.needed_nodes(compute))
    return compute(lambda level, index: found.get((level, index), b""))


def _about_the_log(problem: str) -> Finding:
    return Finding(None, None, None, problem)


async def check_against_digest(pool: Pool, facts: SignedFacts) -> list[Finding]:
    """What differs between the log and the digest's (signature-checked) facts; nothing when the log holds them.

    The root is recomputed from the events' stored chain hashes in commit order: it matches only if the first
    treeSize events are the ones signed, in the same order (with verify_log's check of each hash against its event,
    an edit, insertion or deletion is found even where a stream's chain was recomputed). When the roots differ, the
    service's tree names the events that differ, if it still agrees with the digest."""
    count, root = await log_root(pool, facts.tree_size)
    if root.hex() == facts.root_hash:
        return []
    size = facts.tree_size
    findings = [
        _about_the_log(
            f"the first {size} events in commit order do not hash to the root signed at {facts.signed_at}: "
            "the log changed since"
        )
    ]
    if count < size:
        findings.append(_about_the_log(f"the log holds {count} events; the digest covers {size}"))
    if (await _stored_root(pool, size)).hex() != facts.root_hash:
        findings.append(_about_the_log("the service's own tree disagrees with the digest too: some may go unnamed"))
    return findings + await _differences(pool, size)
