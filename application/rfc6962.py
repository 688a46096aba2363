"""Merkle tree hashes and proofs exactly as RFC 6962 section 2.1 defines them; pure, no I/O."""

import hashlib
from collections.abc import Callable

# The tree is kept as its complete subtrees: node (level, index) hashes the 2**level leaves from index * 2**level.
# Every range the RFC's recursion names is one such node or a fold of O(log n) of them, never the leaves.
Node = tuple[int, int]
NodeLookup = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The RFC's k: the largest power of two smaller than `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def range_hash(start: int, end: int, node: NodeLookup) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion reaches (start is a multiple of the range's split)."""
    size = end - start
    if size & (size - 1) == 0:  # a power of two: one complete subtree
        level = size.bit_length() - 1
        return node(level, start >> level)
    k = _split(size)
    return node_hash(range_hash(start, start + k, node), range_hash(start + k, end, node))


def root(size: int, node: NodeLookup) -> bytes:
    return range_hash(0, size, node) if size else EMPTY_ROOT


def inclusion_path(index: int, size: int, node: NodeLookup) -> list[bytes]:
    """PATH(index, D[size]) of RFC 6962 2.1.1: the sibling hashes from the leaf up (0 <= index < size)."""
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(start + k, end, node))
            end = start + k
        else:
            path.append(range_hash(start, start + k, node))
            start += k
    return path[::-1]


def consistency_proof(old_size: int, new_size: int, node: NodeLookup) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 6962 2.1.2 (0 < old_size <= new_size); empty when the sizes are equal."""
    proof: list[bytes] = []
    start, end, old, whole = 0, new_size, old_size, True
    while old != end - start:
        k = _split(end - start)
        if old <= k:
            proof.append(range_hash(start + k, end, node))
            end = start + k
        else:
            proof.append(range_hash(start, start + k, node))
            start, old, whole = start + k, old - k, False
    if not whole:
        proof.append(range_hash(start, end, node))
    return proof[::-1]


def edge(size: int) -> list[Node]:
    """The complete subtrees a tree of `size` leaves ends with (one per set bit), largest first."""
    return [(level, (size >> level) - 1) for level in reversed(range(size.bit_length())) if size >> level & 1]


def needed_nodes(compute: Callable[[NodeLookup], object]) -> set[Node]:
    """The nodes `compute` reads: run it once on stand-in hashes (which nodes it reads depends only on sizes and
    indexes), so the caller can fetch them all in one query before running it on the real ones."""
    wanted: set[Node] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return EMPTY_ROOT

    compute(record)
    return wanted


class Frontier:
    """A tree being grown leaf by leaf: its size and its edge, the only nodes an append needs."""

    def __init__(self, size: int = 0, edge_hashes: dict[int, bytes] | None = None) -> None:
        """`edge_hashes` by level: the hashes of `edge(size)`."""
        self.size = size
        self._edge = dict(edge_hashes or {})

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns every subtree it completes, as (level, index, hash), the leaf itself first."""
        index, level, current = self.size, 0, leaf
        completed = [(0, index, leaf)]
        while index & 1:  # a right child: its left sibling waits on the edge
            current = node_hash(self._edge.pop(level), current)
            index, level = index >> 1, level + 1
            completed.append((level, index, current))
        self._edge[level] = current
        self.size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the whole tree: the edge folded from the smallest subtree up."""
        folded: bytes | None = None
        for level in sorted(self._edge):
            folded = self._edge[level] if folded is None else node_hash(self._edge[level], folded)
        return folded if folded is not None else EMPTY_ROOT
