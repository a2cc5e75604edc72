"""Password hashing with argon2id.

OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's default (64 MiB, 3 passes,
4 lanes): a gthread worker verifying four logins at once then holds about 76 MiB more, not 256 MiB, and a
login costs a third of the CPU on the busiest morning. Hashes made with other parameters still verify and
are re-hashed with these at the next successful login.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1)
# Verified against when the user is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a verified hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
