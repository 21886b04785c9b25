"""The gateway's part in who may say what: the caller's role allows the event, then it vouches.

After the API key is authenticated (and the event's ``source`` matched to the
key's), the gateway looks the source's role up in the publisher registry and
refuses with 403 what the role does not allow, before anything reaches Kafka.
The check is the worker's own (``streams.worker.trust.allowed`` over the pure
``streams.core.permissions``); the gateway sits below ``streams`` in the
layers, so the process's wiring (``rps gateway``) hands it in as a
:data:`Permit`. What it sends, it signs with its own key as voucher
(``rpsvoucher`` = the gateway's source).

Roles never change, so the gateway caches the registry; a source it does not
know yet makes it read the registry again, at most once per
``gateway_credential_cache_seconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from producers.errors import InvalidSigningKey
from producers.gateway.problems import Problem
from rps.registry import read_registry
from rps.settings import Settings
from schemas import Event, FieldError
from schemas.registry import RegistryView, Role
from schemas.signing import SigningKey, is_key_id, key_owner


class Refused(Protocol):
    """Why a role may not publish an event: a reason code of the permission check."""

    @property
    def reason(self) -> str: ...


Permit = Callable[[str, Event], Refused | None]
"""The permission check: a role and an event in, ``None`` or the refusal out."""

_FIELDS = {
    "not_permitted_event_type": "type",
    "not_permitted_attribute": "data.attribute",
    "above_permitted_assurance": "data.assurance",
    "not_permitted_method": "data.method",
    "not_own_subscription": "data.authority",
}
_MESSAGES = {
    "not_permitted_event_type": "your role may not publish this event type",
    "not_permitted_attribute": "your role may not publish this attribute",
    "above_permitted_assurance": "is above the highest assurance your role may claim",
    "not_permitted_method": "is not a verification method your role may use",
    "not_own_subscription": "must be your own authority",
    "unknown_role": "your source has a role this gateway does not know",
}


def gateway_key(settings: Settings) -> SigningKey | None:
    """The gateway's own signing key (voucher: its source), or ``None`` when not configured."""
    path, key_id = settings.gateway_signing_key_file, settings.gateway_signing_key_id
    if path is None and key_id is None:
        return None
    if path is None or key_id is None or not is_key_id(key_id):
        raise InvalidSigningKey(
            "set RPS_GATEWAY_SIGNING_KEY_FILE and RPS_GATEWAY_SIGNING_KEY_ID (<source>#<label>)"
        )
    if key_owner(key_id) != settings.gateway_source:
        raise InvalidSigningKey("RPS_GATEWAY_SIGNING_KEY_ID must be a key of RPS_GATEWAY_SOURCE")
    try:
        return SigningKey.from_file(path, key_id, voucher=settings.gateway_source)
    except (OSError, ValueError, TypeError):
        raise InvalidSigningKey(
            "RPS_GATEWAY_SIGNING_KEY_FILE: not a readable Ed25519 key"
        ) from None


@dataclass
class Roles:
    """The registry's roles, read from Kafka and read again when an unknown source calls, and
    the permission check they are put to."""

    settings: Settings
    permit: Permit
    view: RegistryView = field(default_factory=RegistryView)
    _read_at: float = float("-inf")
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def role_of(self, source: str) -> Role | None:
        """The registered role of ``source`` (``None``: not registered)."""
        role = self.view.roles.get(source)
        if role is not None:
            return role
        async with self._lock:
            interval = self.settings.gateway_credential_cache_seconds
            if time.monotonic() - self._read_at >= interval:
                self.view = await read_registry(self.settings)
                self._read_at = time.monotonic()
        return self.view.roles.get(source)

    def refusal(self, role: Role, event: Event, index: int | None) -> Problem | None:
        """The 403 ``not-permitted`` problem when ``role`` may not publish ``event``."""
        return _not_permitted(self.permit(role, event), index)


def not_registered() -> Problem:
    """The 403 for a source the publisher registry does not know."""
    return Problem(
        403,
        "not-registered",
        "Source not registered",
        "your source has no role in the publisher registry: ask an operator to register it",
    )


def _not_permitted(rejected: Refused | None, index: int | None) -> Problem | None:
    if rejected is None:
        return None
    error = FieldError(
        _FIELDS.get(rejected.reason, "type"),
        rejected.reason,
        _MESSAGES.get(rejected.reason, "your role may not publish this"),
    )
    return Problem(
        403,
        "not-permitted",
        "Not permitted for your role",
        "the publisher registry does not allow your role to publish this event",
        errors=((index, error),),
    )
