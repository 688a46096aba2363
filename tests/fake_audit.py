"""The in-memory log's Merkle tree, for the handlers' unit tests: grown on each read from the events committed
since (in memory, commit order is append order)."""

from collections.abc import Collection

from application import rfc6962
from tests.fakes import MemoryLog


class MemoryAuditTree:
    def __init__(self, log: MemoryLog) -> None:
        self._log = log
        self._frontier = rfc6962.Frontier()
        self._nodes: dict[rfc6962.Node, bytes] = {}
        self._leaves: dict[int, int] = {}

    def _catch_up(self) -> None:
        for record in self._log.events[self._frontier.size :]:
            self._leaves[record.position] = self._frontier.size
            for level, index, hash_ in self._frontier.append(rfc6962.leaf_hash(record.hash)):
                self._nodes[(level, index)] = hash_

    async def size(self) -> int:
        self._catch_up()
        return self._frontier.size

    async def nodes(self, wanted: Collection[rfc6962.Node]) -> dict[rfc6962.Node, bytes]:
        self._catch_up()
        return {node: self._nodes[node] for node in wanted if node in self._nodes}

    async def leaf_index(self, position: int) -> int | None:
        self._catch_up()
        return self._leaves.get(position)
