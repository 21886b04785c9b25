"""Proof of origin: Ed25519 signatures over an event's canonical bytes, carried with the event.

Three CloudEvents extension attributes carry the proof (in binary mode, as
``ce_rpssig``, ``ce_rpskeyid`` and ``ce_rpsvoucher`` headers):

- ``rpssig``: the Ed25519 signature, base64url without padding (86 characters);
- ``rpskeyid``: the signing key, ``<source>#<label>``, e.g. ``urn:gss:E08000012#2026-12-05a``;
  the part before ``#`` is the publisher that owns the key;
- ``rpsvoucher``: set only when the gateway signs on a publisher's behalf: the
  gateway's own source (the key is then the gateway's).

The signed bytes are the event's *canonical form*: the CloudEvent as one JSON
object (structured mode as sent; in binary mode the ``ce_*`` attributes plus
``data``), without ``rpssig``, without attributes whose value is ``null``,
with ``datacontenttype`` filled in as ``application/json`` when absent (the
only content type the contracts allow), serialised with sorted keys, no
insignificant whitespace, UTF-8, non-ASCII characters unescaped. Our contracts
hold no numbers in signed documents other than (possibly) integers and only
ASCII member names, so this is the JSON Canonicalization Scheme (RFC 8785) for
every valid event: any language with a JCS library can sign and verify. The
form is computed from the parsed document, never from the raw bytes, so one
event signs the same in both modes and whatever whitespace the sender used.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from schemas._envelope import KEY_ID_PATTERN, SIGNATURE_PATTERN
from schemas.validation import _binary_envelope

SIGNATURE: Final = "rpssig"
KEY_ID: Final = "rpskeyid"
VOUCHER: Final = "rpsvoucher"
EXTENSIONS: Final = (SIGNATURE, KEY_ID, VOUCHER)
"""The extension attributes of a signed event (lowercase a-z0-9, at most 20 characters)."""

PUBLIC_KEY_PATTERN: Final = r"^[A-Za-z0-9_-]{43}$"

_KEY_ID = re.compile(KEY_ID_PATTERN)
_SIGNATURE = re.compile(SIGNATURE_PATTERN)
_PUBLIC_KEY = re.compile(PUBLIC_KEY_PATTERN)


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers (see the module docstring)."""
    canonical = {
        name: value for name, value in document.items() if name != SIGNATURE and value is not None
    }
    canonical.setdefault("datacontenttype", "application/json")
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def wire_document(value: bytes, headers: Sequence[tuple[str, bytes]] = ()) -> dict[str, Any]:
    """The CloudEvent in a Kafka record as one JSON object, structured or binary mode.

    Raises ``ValueError`` when the value is not a JSON object (or, in binary
    mode, any JSON document) or a ``ce_*`` header is not UTF-8; the event's own
    validation reports those precisely, so callers validate first.
    """
    envelope = _binary_envelope(headers)
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise ValueError("not a JSON document") from error
    if envelope is not None:
        return {**envelope, "data": parsed}
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    return parsed


def encode_key(raw: bytes) -> str:
    """Base64url without padding (signatures and public keys on the wire and in the registry)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_key(text: str) -> bytes:
    """The bytes of a base64url text without padding; ``ValueError`` when it is not one."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error


def key_owner(key_id: str) -> str:
    """The source that owns a key id: ``urn:gss:E08000012#2026a`` -> ``urn:gss:E08000012``."""
    if not _KEY_ID.match(key_id):
        raise ValueError("a key id must be <source>#<label>")
    return key_id.split("#", 1)[0]


def is_key_id(text: object) -> bool:
    """Whether ``text`` is a well-formed key id."""
    return isinstance(text, str) and _KEY_ID.match(text) is not None


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A publisher's (or the gateway's) private key, its key id, and whom it vouches as."""

    key_id: str
    private: Ed25519PrivateKey
    voucher: str | None = None

    @classmethod
    def generate(cls, key_id: str, voucher: str | None = None) -> SigningKey:
        """A new random key pair under ``key_id``."""
        key_owner(key_id)
        return cls(key_id, Ed25519PrivateKey.generate(), voucher)

    @classmethod
    def from_file(cls, path: Path, key_id: str, voucher: str | None = None) -> SigningKey:
        """The PKCS#8 PEM private key in ``path``; ``ValueError`` when it is not an Ed25519 key."""
        key_owner(key_id)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError("the signing key file must hold an Ed25519 private key")
        return cls(key_id, loaded, voucher)

    def public_key(self) -> str:
        """The public key as registered: the 32 raw bytes, base64url."""
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return encode_key(raw)

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (write it to a 0600 file only)."""
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, path: Path) -> None:
        """Write the private key to ``path``, readable by its owner only (0600), never replacing."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(self.private_pem())


def sign(document: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """``document`` with ``rpskeyid`` (and ``rpsvoucher``) set and ``rpssig`` over the rest."""
    signed = {name: value for name, value in document.items() if name not in EXTENSIONS}
    signed[KEY_ID] = key.key_id
    if key.voucher is not None:
        signed[VOUCHER] = key.voucher
    signed[SIGNATURE] = encode_key(key.private.sign(canonical_bytes(signed)))
    return signed


def sign_value(value: bytes, key: SigningKey) -> bytes:
    """A structured-mode event (JSON bytes) signed with ``key``, as JSON bytes again."""
    return orjson.dumps(sign(wire_document(value), key))


def signature_valid(document: Mapping[str, Any], public_key: str) -> bool:
    """Whether ``document``'s ``rpssig`` is a signature of its canonical form under the key."""
    signature = document.get(SIGNATURE)
    if not isinstance(signature, str) or not _SIGNATURE.match(signature):
        return False
    if not _PUBLIC_KEY.match(public_key):
        return False
    try:
        _verifier(public_key).verify(canonical_bytes(document), decode_key(signature))
    except (BadSignatureError, ValueError, TypeError, UnicodeEncodeError):
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _verifier(public_key: str) -> VerifyKey:
    """A registered public key, ready to verify with (libsodium's Ed25519, about twice as fast
    as OpenSSL's here; signing stays with ``cryptography``)."""
    return VerifyKey(decode_key(public_key))
