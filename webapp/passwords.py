"""Argon2id password hashing (argon2-cffi).

werkzeug's default scrypt parameters fall below OWASP's minimum, so hashes are Argon2id. The cost is
configurable so that the test suite can use a cheap one; `needs_rehash` upgrades old hashes at
login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

# A valid hash of a random password: checking against it when an email is unknown makes a failed
# login take as long as a wrong password, so timing does not tell which emails exist.
_DUMMY_PASSWORD = "not-a-real-password-only-for-timing"  # noqa: S105 (timing decoy)


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 64 * 1024) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if `password` matches; an unknown user (hash None) costs the same time."""
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
