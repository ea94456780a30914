"""The dashboard password as an argon2id hash (argon2-cffi; RFC 9106 parameters, PHC string form
``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>``). Only the hash is ever stored."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def hash_password(password: str) -> str:
    """An argon2id PHC string for ``password`` (a new random salt each call)."""
    return PasswordHasher().hash(password)


def verify(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``. Raises ``ValueError`` when the hash is not
    an argon2 hash (a configuration error, shown to the trader)."""
    try:
        return PasswordHasher().verify(password_hash, password)
    except VerificationError:
        return False
    except InvalidHashError:
        raise ValueError(
            "the configured password hash is not an argon2 hash; make one with `bot.py dashboard-password`"
        ) from None
