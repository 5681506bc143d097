"""Request dependencies of notify's operator routes: the app's settings and its PII cipher."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from shared.pii import PiiCipher


def app_cipher(app: Any) -> PiiCipher:
    """The app's cipher (made from its settings on first use when the app did not set one)."""
    cipher = getattr(app.state, "cipher", None)
    if cipher is None:
        settings = app.state.settings
        cipher = app.state.cipher = PiiCipher(settings.pii_key, settings.pii_hash_key)
    return cipher


def _cipher(request: Request) -> PiiCipher:
    return app_cipher(request.app)


def _settings(request: Request) -> Any:
    return request.app.state.settings


Cipher = Annotated[PiiCipher, Depends(_cipher)]
Settings = Annotated[Any, Depends(_settings)]
