"""Tokens encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from the environment.

`ADRELAY_TOKEN_KEYS` holds one or more Fernet keys, comma-separated, newest first. New writes use the
newest key; rows written under an older key stay readable while that key is listed; `rotate()`
re-encrypts a value under the newest key. Each key has a short public id (a hash prefix, never the
key) stored next to the ciphertext, so `rotate-keys` finds the rows still under an old key and an
unreadable row names the key it needs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEYS_ENV = "ADRELAY_TOKEN_KEYS"


class TokenKeyError(RuntimeError):
    """No usable key: none configured, a malformed one, or a row under a key no longer listed."""


def generate_key() -> str:
    """A new random key for `ADRELAY_TOKEN_KEYS` (local runtime, tests, and operators rotating)."""
    return Fernet.generate_key().decode()


def key_id(key: str) -> str:
    """The public name of a key: 12 hex digits of its SHA-256 (the key cannot be derived from it)."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:12]


class TokenCipher:
    """Encrypts with the newest key, decrypts with whichever listed key wrote the value."""

    def __init__(self, keys: Sequence[str]) -> None:
        cleaned = [k.strip() for k in keys if k and k.strip()]
        if not cleaned:
            raise TokenKeyError(
                f"no token encryption key configured: set {KEYS_ENV} to one or more Fernet keys, "
                "newest first, comma-separated (python -c 'from adrelay.connections.crypto import "
                "generate_key; print(generate_key())' makes one)"
            )
        fernets: list[Fernet] = []
        for position, key in enumerate(cleaned, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except (ValueError, TypeError) as exc:
                # Never echo the key: say which entry is wrong.
                raise TokenKeyError(
                    f"{KEYS_ENV} entry {position} is not a Fernet key (32 url-safe base64 bytes)"
                ) from exc
        self._ids = [key_id(k) for k in cleaned]
        self._by_id = dict(zip(self._ids, fernets, strict=True))
        self._all = MultiFernet(fernets)
        self._newest = fernets[0]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> TokenCipher:
        raw = (environ if environ is not None else os.environ).get(KEYS_ENV, "")
        return cls(raw.split(","))

    @property
    def current_key_id(self) -> str:
        return self._ids[0]

    @property
    def key_ids(self) -> list[str]:
        return list(self._ids)

    def encrypt(self, plaintext: str) -> bytes:
        return self._newest.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes, key_id: str | None = None) -> str:
        """`key_id` picks the key directly; without it (or when it is unknown) every listed key is tried."""
        fernet = self._by_id.get(key_id) if key_id else None
        try:
            if fernet is not None:
                return fernet.decrypt(bytes(ciphertext)).decode()
            return self._all.decrypt(bytes(ciphertext)).decode()
        except InvalidToken as exc:
            hint = f" (written under key {key_id}, which {KEYS_ENV} does not list)" if key_id else ""
            raise TokenKeyError(f"a stored token cannot be decrypted with the configured keys{hint}") from exc

    def rotate(self, ciphertext: bytes) -> bytes:
        """The same plaintext under the newest key (any listed key may have written it)."""
        try:
            return self._all.rotate(bytes(ciphertext))
        except InvalidToken as exc:
            raise TokenKeyError("a stored token cannot be decrypted with the configured keys") from exc
