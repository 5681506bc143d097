"""The token signing key (ES256 by default, EdDSA optional) and the JWKS that every service and
department system verifies with.

A rotation: the new key goes to JWT_PRIVATE_KEY_FILE, the old one to JWT_PREVIOUS_KEY_FILES. The JWKS
lists both (verifiers that meet the new kid refetch it), tokens are signed with the new one only; once
the old tokens have expired (the access token lifetime plus the verifiers' JWKS cache), the old file
is removed from the list and verifiers drop its key at their next refetch."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.auth import KeySet

Algorithm = Literal["ES256", "EdDSA"]
PrivateKey = ec.EllipticCurvePrivateKey | Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | Ed25519PublicKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def public_jwk(public_key: PublicKey) -> dict[str, Any]:
    """The JWK of a public key, with its RFC 7638 thumbprint as `kid`."""
    if isinstance(public_key, Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk: dict[str, Any] = {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
        alg = "EdDSA"
    else:
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError("an EC signing key must be on P-256 (ES256)")
        numbers = public_key.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }
        alg = "ES256"
    canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()
    return {**jwk, "kid": _b64(hashlib.sha256(canonical).digest()), "alg": alg, "use": "sig"}


def _generate(algorithm: Algorithm) -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1()) if algorithm == "ES256" else Ed25519PrivateKey.generate()


def _load_private(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, Ed25519PrivateKey)):
        raise ValueError(f"{path}: the signing key must be an EC P-256 (ES256) or Ed25519 (EdDSA) private key")
    return key


def _load_public(path: Path) -> PublicKey:
    """A previous key's public half, from a private or a public PEM."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return _load_private(path).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, (ec.EllipticCurvePublicKey, Ed25519PublicKey)):
        raise ValueError(f"{path}: a previous key must be EC P-256 or Ed25519")
    return key


class SigningKey:
    """The key that signs (its kind gives the algorithm) and the previous keys the JWKS still lists."""

    def __init__(self, private_key: PrivateKey, previous: Sequence[PublicKey] = ()) -> None:
        self.private_key = private_key
        self.public_jwk = public_jwk(private_key.public_key())
        self.kid: str = self.public_jwk["kid"]
        self.algorithm: Algorithm = self.public_jwk["alg"]
        listed = {self.kid}
        self.previous_jwks: list[dict[str, Any]] = []
        for key in previous:
            jwk = public_jwk(key)
            if jwk["kid"] not in listed:
                listed.add(jwk["kid"])
                self.previous_jwks.append(jwk)

    @classmethod
    def load_or_create(
        cls, path: str, algorithm: Algorithm = "ES256", previous_files: Sequence[str] = ()
    ) -> SigningKey:
        """The key in `path`; a missing file gets a new key of `algorithm` (development: ./var/)."""
        p = Path(path)
        previous = [_load_public(Path(f)) for f in previous_files]
        if p.exists():
            return cls(_load_private(p), previous)
        pem = _generate(algorithm).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, p)  # another process may have created it meanwhile: theirs wins
        tmp.unlink(missing_ok=True)
        return cls(_load_private(p), previous)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk, *self.previous_jwks]}

    def keyset(self, **verifier: Any) -> KeySet:
        """The cases service's own verifier: these keys, with `issuer`/`audience`/`leeway` as given."""
        return KeySet(jwks=self.jwks(), **verifier)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers={"kid": self.kid})
