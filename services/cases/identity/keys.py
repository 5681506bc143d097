"""The token signing key (Ed25519) and the JWKS that every service and department system verifies with."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import KeySet


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class SigningKey:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_jwk: dict[str, Any] = {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
        # RFC 7638 thumbprint as the key id
        canonical = json.dumps(self.public_jwk, sort_keys=True, separators=(",", ":")).encode()
        self.kid = _b64(hashlib.sha256(canonical).digest())
        self.public_jwk.update(kid=self.kid, alg="EdDSA", use="sig")

    @classmethod
    def load_or_create(cls, path: str) -> SigningKey:
        p = Path(path)
        if p.exists():
            key = serialization.load_pem_private_key(p.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("JWT_PRIVATE_KEY_FILE must hold an Ed25519 private key")
            return cls(key)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, p)  # another process may have created it meanwhile: theirs wins
        tmp.unlink(missing_ok=True)
        return cls.load_or_create(path)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def keyset(self) -> KeySet:
        return KeySet(jwks=self.jwks())

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})
