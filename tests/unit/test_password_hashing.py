"""The argon2 adapter: hashes verify, changed parameters ask for a rehash, an absent hash still costs a verify."""

from passlib.hash import argon2

from infrastructure.security import Argon2Hasher


class TestArgon2Hasher:
    def test_a_hash_verifies_its_password_only(self) -> None:
        hasher = Argon2Hasher(1024, 1)
        stored = hasher.hash("correct horse")
        assert argon2.identify(stored)
        assert "correct horse" not in stored
        assert hasher.verify("correct horse", stored) == (True, None)
        assert hasher.verify("wrong horse", stored)[0] is False

    def test_changed_parameters_ask_for_a_rehash_with_the_new_ones(self) -> None:
        old = Argon2Hasher(1024, 1).hash("correct horse")
        matches, new_hash = Argon2Hasher(2048, 2).verify("correct horse", old)
        assert matches
        assert new_hash is not None
        assert "m=2048,t=2" in new_hash
        assert Argon2Hasher(2048, 2).verify("correct horse", new_hash) == (True, None)

    def test_no_hash_fails_after_verifying_against_a_decoy(self) -> None:
        hasher = Argon2Hasher(1024, 1)
        calls: list[str] = []
        context = hasher._context
        original = context.verify_and_update

        def counting(password: str, stored: str) -> tuple[bool, str | None]:
            calls.append(stored)
            result: tuple[bool, str | None] = original(password, stored)
            return result

        context.verify_and_update = counting
        assert hasher.verify("anything", None) == (False, None)
        assert len(calls) == 1
        assert argon2.identify(calls[0]), "the decoy is a real argon2 hash, so the work is the same"
