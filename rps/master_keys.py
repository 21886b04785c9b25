"""The master keys that wrap the residents' data keys: those a process was given.

The current master key (``RPS_MASTER_KEY_ID``, ``RPS_MASTER_KEY``) wraps every new
data key; retired ones (``RPS_MASTER_KEYS``, ``id:secret`` pairs) stay readable until
the key store has rewrapped every data key under the current one. A KMS takes their
place by implementing :class:`Wrapper`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from rps.sealing import SealingError
from rps.settings import Settings

__all__ = ["MasterKeys", "UnknownMasterKey", "Wrapper", "master_keys"]


class UnknownMasterKey(SealingError):
    """A data key wrapped under a master key this process was not given."""


class Wrapper(Protocol):
    """Wraps data keys under named master keys (local AES key wrap, or a KMS)."""

    current: str

    def wrap(self, secret: bytes) -> bytes: ...

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes: ...


class MasterKeys:
    """Master keys given as settings: the current one and retired ones still readable."""

    def __init__(self, current: str, keys: Mapping[str, bytes]) -> None:
        self.current = current
        self._keys = dict(keys)

    def wrap(self, secret: bytes) -> bytes:
        return aes_key_wrap(self._keys[self.current], secret)

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownMasterKey(f"master key {key_id!r} is not configured")
        try:
            return aes_key_unwrap(key, wrapped)
        except InvalidUnwrap as error:
            raise UnknownMasterKey(f"master key {key_id!r} does not unwrap this key") from error


def _derive(secret: str) -> bytes:
    """A 256-bit key from a configured secret (a long random string in production)."""
    return hashlib.sha256(f"rps-master-key|{secret}".encode()).digest()


def master_keys(settings: Settings) -> MasterKeys:
    """The master keys a process was given: ``master_key`` and the retired ``master_keys``."""
    keys = {settings.master_key_id: _derive(settings.master_key.get_secret_value())}
    for pair in filter(None, settings.master_keys.get_secret_value().split(",")):
        key_id, _, secret = pair.partition(":")
        keys.setdefault(key_id.strip(), _derive(secret.strip()))
    return MasterKeys(settings.master_key_id, keys)
