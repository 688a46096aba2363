"""The pure RFC 6962 functions against the tests' own verifier: every root and proof of every tree up to 130
leaves, and a tree grown in batches from its stored edge equal to one grown at once."""

import hashlib
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application import rfc6962
from tests.rfc6962_verifier import leaf, mth, verify_consistency, verify_inclusion

LARGEST = 130
LEAVES = [leaf(hashlib.sha256(str(i).encode()).digest()) for i in range(LARGEST)]


@cache
def subtree(level: int, index: int) -> bytes:
    """A complete subtree's hash by the definition, never by the code under test."""
    return mth(LEAVES[index << level : (index + 1) << level])


@cache
def root_of(size: int) -> bytes:
    return mth(LEAVES[:size])


def test_hashes_are_domain_separated() -> None:
    assert rfc6962.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert rfc6962.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert rfc6962.root(0, subtree) == hashlib.sha256(b"").digest()


def test_every_root_up_to_130_leaves() -> None:
    for size in range(LARGEST + 1):
        assert rfc6962.root(size, subtree) == root_of(size), size


def test_every_inclusion_proof_up_to_130_leaves_verifies() -> None:
    for size in range(1, LARGEST + 1):
        for index in range(size):
            path = rfc6962.inclusion_path(index, size, subtree)
            assert verify_inclusion(LEAVES[index], index, size, path, root_of(size)), (index, size)
            assert not verify_inclusion(LEAVES[(index + 1) % size], index, size, path, root_of(size)) or size == 1


def test_every_consistency_proof_up_to_130_leaves_verifies() -> None:
    for new in range(1, LARGEST + 1):
        for old in range(1, new + 1):
            proof = rfc6962.consistency_proof(old, new, subtree)
            assert verify_consistency(old, new, root_of(old), root_of(new), proof), (old, new)
            if old < new:
                assert not verify_consistency(old, new, root_of(old), root_of(new - 1), proof), (old, new)


@pytest.mark.parametrize("size", [LARGEST, 2**40 + 12345])
def test_a_proof_reads_few_nodes(size: int) -> None:
    def inclusion(node: rfc6962.NodeLookup) -> list[bytes]:
        return rfc6962.inclusion_path(size // 3, size, node)

    def consistency(node: rfc6962.NodeLookup) -> list[bytes]:
        return rfc6962.consistency_proof(size // 3, size, node)

    assert len(rfc6962.needed_nodes(inclusion)) <= 2 * size.bit_length()
    assert len(rfc6962.needed_nodes(consistency)) <= 2 * size.bit_length()


def test_growing_a_tree_writes_each_complete_subtree_once_with_its_hash() -> None:
    frontier = rfc6962.Frontier()
    written: dict[tuple[int, int], bytes] = {}
    for size, entry in enumerate(LEAVES, start=1):
        for level, index, hash_ in frontier.append(entry):
            assert (level, index) not in written
            written[(level, index)] = hash_
        assert frontier.root() == root_of(size)
    assert written == {(level, index): subtree(level, index) for level in range(8) for index in range(LARGEST >> level)}


@given(st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_a_tree_grown_in_batches_from_its_stored_edge_is_the_same_tree(batches: list[int]) -> None:
    frontier, size = rfc6962.Frontier(), 0
    for count in batches:
        count = min(count, LARGEST - size)
        edge = {level: subtree(level, index) for level, index in rfc6962.edge(size)}
        frontier = rfc6962.Frontier(size, edge)  # as the follower does after each batch: only the edge is read back
        for entry in LEAVES[size : size + count]:
            for level, index, hash_ in frontier.append(entry):
                assert hash_ == subtree(level, index)
        size += count
        assert frontier.root() == root_of(size)
