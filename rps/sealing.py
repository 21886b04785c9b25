"""Sealing a resident's values under the resident's own data key (AES-256-GCM).

A sealed value is a compact text envelope, ``s1.<key version>.<nonce>.<ciphertext>``
(nonce and ciphertext in unpadded base64url), so it fits wherever a JSON value
fits. The resident's hub id and the id of the event the value came from are
bound as associated data: an envelope copied under another resident or event
does not open. Erasing a resident deletes its data key, and every envelope
sealed under it becomes noise: that is crypto-shredding.

Pure functions: no key store, no I/O. Errors::

    SealingError            the root
    ├── SealBroken          not an envelope, tampered, or sealed for another resident or event
    └── KeyForgotten        the resident's data key was erased (or never existed)
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "DataKey",
    "KeyForgotten",
    "SealBroken",
    "SealingError",
    "is_sealed",
    "new_data_key",
    "open_sealed",
    "seal",
    "sealed_version",
]

_PREFIX = "s1"
_NONCE_BYTES = 12
KEY_BYTES = 32


class SealingError(Exception):
    """The root of sealing's errors. Messages name ids and rules, never a value."""


class SealBroken(SealingError):
    """An envelope that does not open: malformed, tampered, or bound to other ids."""


class KeyForgotten(SealingError):
    """The resident's data key is gone (erased), so nothing sealed under it can be opened."""


@dataclass(frozen=True, slots=True)
class DataKey:
    """One resident's data key and its version (a new key after an erasure gets a new one)."""

    version: int
    secret: bytes
    cipher: AESGCM = field(init=False, compare=False, repr=False)
    """The key's AES-GCM context, made once (making one costs more than sealing a value)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipher", AESGCM(self.secret))

    def __repr__(self) -> str:  # never show the key material
        return f"DataKey(version={self.version})"


def new_data_key(version: int = 1) -> DataKey:
    """A fresh random 256-bit data key."""
    return DataKey(version, AESGCM.generate_key(bit_length=256))


def _aad(resident: str, event_id: str) -> bytes:
    return f"rps-seal|{resident}|{event_id}".encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(key: DataKey, value: Any, resident: str, event_id: str) -> str:
    """``value`` (anything JSON can hold) sealed for ``resident`` and ``event_id``."""
    nonce = os.urandom(_NONCE_BYTES)
    plain = orjson.dumps(value)
    cipher = key.cipher.encrypt(nonce, plain, _aad(resident, event_id))
    return f"{_PREFIX}.{key.version}.{_b64(nonce)}.{_b64(cipher)}"


def is_sealed(value: object) -> bool:
    """Whether ``value`` looks like an envelope :func:`seal` wrote."""
    return isinstance(value, str) and value.startswith(_PREFIX + ".") and value.count(".") == 3


def sealed_version(envelope: str) -> int:
    """The data key version an envelope was sealed under."""
    parts = envelope.split(".")
    if len(parts) != 4 or parts[0] != _PREFIX or not parts[1].isdigit():
        raise SealBroken("not a sealed value (envelope)")
    return int(parts[1])


def open_sealed(key: DataKey | None, envelope: str, resident: str, event_id: str) -> Any:
    """The value sealed in ``envelope``; ``key`` None means the resident's key is gone."""
    version = sealed_version(envelope)
    if key is None or key.version != version:
        raise KeyForgotten(f"the data key (version {version}) of this resident is erased")
    _, _, nonce, cipher = envelope.split(".")
    try:
        plain = key.cipher.decrypt(_unb64(nonce), _unb64(cipher), _aad(resident, event_id))
    except (InvalidTag, ValueError) as error:
        raise SealBroken("sealed value does not open for this resident and event") from error
    return orjson.loads(plain)
