"""The publisher registry: who each source is (its role) and which keys may sign for it, when.

The registry lives on a compacted Kafka topic (``Topics.publishers``), so every
worker reads it the way it reads subscriptions, and a replay years later reads
the same records. Two kinds of record, never tombstoned:

- key ``<source>``: :class:`PublisherRegistered`, the source's role. A role never
  changes (a replay must judge an old event by the role its source had then,
  and a compacted topic keeps one value per key), so registering a source
  again with another role is refused by ``rps publishers add``;
- key ``<source>|<key id>``: :class:`KeyRecorded`, one public key with the
  instant it becomes valid (``added_at``) and, once revoked, the instant it
  stops (``revoked_at``). A revocation rewrites the record with ``revoked_at``
  set, so the compacted topic still holds the key's whole history.

Validity is by *time*: a key may sign an event whose Kafka record timestamp
(``LogAppendTime`` on the inbound topics: the broker's clock, not the
publisher's) lies in ``[added_at, revoked_at)``. The operator commands set both
instants ``grace`` in the future (``Settings.registry_grace_seconds``), and a
worker verifies an event stamped ``T`` only with a view that was at the end of
the topic at some instant at or after ``T - grace`` (:func:`fresh_enough`).
So every record that matters for ``T`` is in the view, live and in replay alike.

:func:`verify` is pure: it takes the event as a JSON object, the record's
timestamp and a :class:`RegistryView`, and returns the :class:`Signer` or an
:class:`Unverified` with a precise reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, Self

import orjson
from pydantic import Field, TypeAdapter, ValidationError, model_validator

from schemas._envelope import KeyIdText
from schemas._rules import fail
from schemas.attributes import Timestamp, ValueModel
from schemas.ids import Source
from schemas.signing import (
    KEY_ID,
    PUBLIC_KEY_PATTERN,
    SIGNATURE,
    VOUCHER,
    is_key_id,
    key_owner,
    signature_valid,
)


class Role(StrEnum):
    """A registered source's role (the permission catalogue, streams/core/permissions.py)."""

    LOCAL_AUTHORITY = "local_authority"
    CENTRAL_SERVICE = "central_service"
    REGISTRAR = "registrar"
    RESIDENT_APP = "resident_app"
    OPERATOR = "operator"
    GATEWAY = "gateway"


class PublisherRegistered(ValueModel):
    """The registry record of one source: its role, who registered it and when."""

    kind: Literal["publisher"] = "publisher"
    source: Source
    role: Role
    registered_at: Timestamp
    registered_by: str = Field(max_length=200, description="The operator who ran the command.")


class KeyRecorded(ValueModel):
    """The registry record of one public key: valid from ``added_at`` until ``revoked_at``."""

    kind: Literal["key"] = "key"
    source: Source
    key_id: KeyIdText
    public_key: Annotated[str, Field(pattern=PUBLIC_KEY_PATTERN)] = Field(
        description="The Ed25519 public key: 32 bytes, base64url without padding."
    )
    added_at: Timestamp
    revoked_at: Timestamp | None = None
    changed_by: str = Field(max_length=200, description="The operator of the latest change.")

    @model_validator(mode="after")
    def _owned_by_source(self) -> Self:
        if key_owner(self.key_id) != self.source:
            raise fail("key_not_owned", "must start with the record's source", "key_id")
        if self.revoked_at is not None and self.revoked_at < self.added_at:
            raise fail("revoked_before_added", "must not be before added_at", "revoked_at")
        return self


RegistryRecord = Annotated[PublisherRegistered | KeyRecorded, Field(discriminator="kind")]
RECORD_ADAPTER: Final[TypeAdapter[PublisherRegistered | KeyRecorded]] = TypeAdapter(RegistryRecord)


def record_key(record: PublisherRegistered | KeyRecorded) -> bytes:
    """The Kafka key of a registry record: the source, or ``<source>|<key id>``."""
    if isinstance(record, PublisherRegistered):
        return record.source.encode()
    return f"{record.source}|{record.key_id}".encode()


def encode_record(record: PublisherRegistered | KeyRecorded) -> bytes:
    """A registry record as the JSON value written to the topic."""
    return record.model_dump_json().encode()


def decode_record(value: bytes | None) -> PublisherRegistered | KeyRecorded | None:
    """The record in a registry topic value, or ``None`` when it is not one (skip it)."""
    if not value:
        return None
    try:
        return RECORD_ADAPTER.validate_python(orjson.loads(value))
    except (orjson.JSONDecodeError, ValidationError):
        return None


# The view -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """A public key as the registry holds it."""

    owner: str
    public_key: str
    added_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def valid_at(self, instant: dt.datetime) -> bool:
        return self.added_at <= instant and (self.revoked_at is None or instant < self.revoked_at)


@dataclass(frozen=True, slots=True)
class RegistryView:
    """What the registry says, as plain data: roles by source, keys by key id.

    ``as_of`` is an instant at which the reader was known to be at the end of
    the registry topic (``None``: not known), for :func:`fresh_enough`.
    Folding records is order-independent: a key's revocation wins over its
    unrevoked record, whichever is read first, and the earliest ``revoked_at``
    wins over a later one.
    """

    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    keys: Mapping[str, Key] = field(default_factory=lambda: MappingProxyType({}))
    as_of: dt.datetime | None = None

    def with_records(
        self, records: Iterable[PublisherRegistered | KeyRecorded | None]
    ) -> RegistryView:
        """This view with ``records`` folded in (``None`` entries, undecodable values, skipped)."""
        roles = dict(self.roles)
        keys = dict(self.keys)
        for record in records:
            if isinstance(record, PublisherRegistered):
                roles.setdefault(record.source, record.role)
            elif isinstance(record, KeyRecorded):
                keys[record.key_id] = _joined(keys.get(record.key_id), record)
        return replace(self, roles=MappingProxyType(roles), keys=MappingProxyType(keys))

    def caught_up(self, instant: dt.datetime) -> RegistryView:
        """This view, known to hold every record appended before ``instant``."""
        return replace(self, as_of=instant)


def _joined(known: Key | None, record: KeyRecorded) -> Key:
    earlier = known.revoked_at if known is not None else None
    revoked = [at for at in (record.revoked_at, earlier) if at is not None]
    return Key(
        owner=record.source,
        public_key=record.public_key if known is None else known.public_key,
        added_at=record.added_at if known is None else min(known.added_at, record.added_at),
        revoked_at=min(revoked) if revoked else None,
    )


def fresh_enough(view: RegistryView, record_timestamp: dt.datetime, grace: dt.timedelta) -> bool:
    """Whether ``view`` may judge an event stamped ``record_timestamp`` (else read on first).

    Registry changes take effect ``grace`` after they are written, so a view
    that was at the end of the topic at ``T - grace`` or later holds every
    change in effect at ``T``.
    """
    return view.as_of is not None and view.as_of >= record_timestamp - grace


# Verification ---------------------------------------------------------------------------------


class Unverified(StrEnum):
    """Why an event's origin is not proven."""

    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    REVOKED_KEY = "revoked_key"
    KEY_NOT_YET_VALID = "key_not_yet_valid"
    SIGNER_NOT_SOURCE = "signer_not_source"
    NOT_A_VOUCHER = "not_a_voucher"
    UNKNOWN_SOURCE = "unknown_source"


@dataclass(frozen=True, slots=True)
class Signer:
    """Who proved an event's origin: its source and role, the key, and the gateway if vouched."""

    source: str
    role: Role
    key_id: str
    voucher: str | None = None


def verify(
    document: Mapping[str, Any], record_timestamp: dt.datetime, view: RegistryView
) -> Signer | Unverified:
    """The proven signer of ``document`` (the event as one JSON object), or why it is not proven.

    The checks run in a fixed order so an event always gets the same reason:
    unsigned; the key is not the source's own (or, vouched, not the voucher's,
    or the voucher is not a registered gateway); unknown key; bad signature;
    key not yet valid or revoked at ``record_timestamp``; source not registered.
    """
    signature, key_id, voucher = (document.get(name) for name in (SIGNATURE, KEY_ID, VOUCHER))
    if signature is None and key_id is None:
        return Unverified.UNSIGNED
    if not isinstance(key_id, str) or not is_key_id(key_id) or not isinstance(signature, str):
        return Unverified.BAD_SIGNATURE
    source = document.get("source")
    owner = key_owner(key_id)
    if voucher is None and owner != source:
        return Unverified.SIGNER_NOT_SOURCE
    if voucher is not None and (owner != voucher or view.roles.get(owner) is not Role.GATEWAY):
        return Unverified.NOT_A_VOUCHER
    key = view.keys.get(key_id)
    if key is None or key.owner != owner:
        return Unverified.UNKNOWN_KEY
    if not signature_valid(document, key.public_key):
        return Unverified.BAD_SIGNATURE
    if record_timestamp < key.added_at:
        return Unverified.KEY_NOT_YET_VALID
    if key.revoked_at is not None and record_timestamp >= key.revoked_at:
        return Unverified.REVOKED_KEY
    role = view.roles.get(source) if isinstance(source, str) else None
    if role is None:
        return Unverified.UNKNOWN_SOURCE
    return Signer(source=str(source), role=role, key_id=key_id, voucher=voucher)
