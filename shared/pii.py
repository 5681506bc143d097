"""Field encryption for ID numbers and phones (AES-256-GCM with a key id for rotation), a keyed
hash for exact-match lookup, and the masks shown in responses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PiiCipher:
    """`keys` is "kid:base64key[,kid:base64key…]"; the first key encrypts, all keys decrypt."""

    def __init__(self, keys: str, hash_key: str) -> None:
        self._keys: dict[str, AESGCM] = {}
        self._current: str | None = None
        for part in keys.split(","):
            kid, _, b64 = part.strip().partition(":")
            raw = base64.b64decode(b64)
            if len(raw) != 32 or not kid:
                raise ValueError("PII_KEY entries must be kid:base64(32 bytes)")
            self._keys[kid] = AESGCM(raw)
            self._current = self._current or kid
        self._hash_key = hash_key.encode()

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None or plaintext == "":
            return None
        assert self._current is not None
        nonce = os.urandom(12)
        ct = self._keys[self._current].encrypt(nonce, plaintext.encode(), self._current.encode())
        return f"{self._current}:{base64.b64encode(nonce + ct).decode()}"

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        kid, _, b64 = token.partition(":")
        raw = base64.b64decode(b64)
        return self._keys[kid].decrypt(raw[:12], raw[12:], kid.encode()).decode()

    def lookup_hash(self, kind: str, value: str | None) -> str | None:
        """Keyed hash of the normalised value: equal inputs match, the value itself is not recoverable."""
        if not value:
            return None
        norm = normalise_id_number(value) if kind == "id_number" else normalise_phone(value)
        return hmac.new(self._hash_key, f"{kind}:{norm}".encode(), hashlib.sha256).hexdigest()


_SPACE = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"\D")


def normalise_id_number(value: str) -> str:
    return _SPACE.sub("", value).upper()


def normalise_phone(value: str) -> str:
    digits = _NOT_DIGIT.sub("", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return None
    v = normalise_id_number(value)
    if len(v) <= 8:
        return "*" * len(v)
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


def mask_phone(value: str | None) -> str | None:
    if not value:
        return None
    v = normalise_phone(value)
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]
