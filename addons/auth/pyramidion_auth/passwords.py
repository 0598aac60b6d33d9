"""Password hashing (Argon2id) and the rules a new password follows."""

from __future__ import annotations

import functools
import secrets
import threading
from importlib.resources import files

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from .models import normalize_email
from .settings import AuthSettings

__all__ = ["Passwords", "common_passwords"]


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the 10,000 most common passwords, lower-cased."""
    text = files("pyramidion_auth").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class Passwords:
    """Argon2id hashing with the configured parameters, and the password rules.

    The add-on's :class:`~pyramidion_auth.interfaces.PasswordHasher`.
    """

    def __init__(self, settings: AuthSettings) -> None:
        # Each hash holds argon2_memory_cost of memory for its duration; a
        # burst of logins or registrations waits here instead of adding
        # that much memory per request.
        self.slots = threading.BoundedSemaphore(settings.max_concurrent_hashes)
        self.min_length = settings.password_min_length
        self.max_bytes = settings.password_max_bytes
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )

    def too_long(self, password: str) -> bool:
        """Whether ``password`` is over the byte limit (checked before any hashing)."""
        return len(password.encode("utf-8", "surrogatepass")) > self.max_bytes

    def problem(self, password: str, *, email: str | None = None) -> str | None:
        """Why ``password`` may not be used, in a sentence; None when it may."""
        if self.too_long(password):
            return f"Use at most {self.max_bytes} bytes."
        if len(password) < self.min_length:
            return f"Use at least {self.min_length} characters."
        folded = password.strip().lower()
        if folded in common_passwords():
            return "This is one of the most common passwords; choose another."
        if email:
            address = normalize_email(email)
            if folded in (address, address.split("@", 1)[0]):
                return "Do not use your email address as your password."
        return None

    def hash(self, password: str) -> str:
        if self.too_long(password):
            raise ValueError("password is over the byte limit")
        with self.slots:
            return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; always spends one hash's time.

        An account without a hash, or a password over the limit, is checked
        against a dummy hash so that the answer takes as long as a real one.
        """
        if self.too_long(password):
            return False
        if password_hash is None:
            self._verify_quietly(self.dummy_hash, password)
            return False
        return self._verify_quietly(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a stored hash was made with other parameters than today's."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    @functools.cached_property
    def dummy_hash(self) -> str:
        return self.hash(secrets.token_urlsafe(32))

    def _verify_quietly(self, password_hash: str, password: str) -> bool:
        with self.slots:
            try:
                return self.hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False
