"""The publisher's signing key, from the settings: what the SDK and `rps publish` sign with.

``RPS_SIGNING_KEY_FILE`` is the PEM private key `rps publishers add --role` wrote,
``RPS_SIGNING_KEY_ID`` its key id. Neither set: events go unsigned (a worker
that enforces proof of origin dead-letters them as ``unsigned``).
"""

from __future__ import annotations

from producers.errors import InvalidSigningKey
from rps.settings import Settings
from schemas.signing import SigningKey, is_key_id


def signing_key(settings: Settings) -> SigningKey | None:
    """The configured key, ``None`` when none is, or :class:`InvalidSigningKey` saying why."""
    path, key_id = settings.signing_key_file, settings.signing_key_id
    if path is None and key_id is None:
        return None
    if path is None or key_id is None:
        raise InvalidSigningKey("set both RPS_SIGNING_KEY_FILE and RPS_SIGNING_KEY_ID, or neither")
    if not is_key_id(key_id):
        raise InvalidSigningKey("RPS_SIGNING_KEY_ID must be <source>#<label>")
    try:
        return SigningKey.from_file(path, key_id)
    except FileNotFoundError:
        raise InvalidSigningKey("RPS_SIGNING_KEY_FILE: no such file") from None
    except (ValueError, TypeError):
        raise InvalidSigningKey(
            "RPS_SIGNING_KEY_FILE must hold an Ed25519 private key (PEM)"
        ) from None
