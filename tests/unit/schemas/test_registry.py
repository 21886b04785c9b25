"""The registry view and verify: who signed, with which key, valid when; every refusal reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.publishers import ROLES
from schemas import ATTRIBUTE_VERIFIED
from schemas.registry import (
    KeyRecorded,
    PublisherRegistered,
    RegistryView,
    Role,
    Signer,
    Unverified,
    decode_record,
    encode_record,
    fresh_enough,
    record_key,
    verify,
)
from schemas.samples import example_lines
from schemas.signing import SIGNATURE, VOUCHER, SigningKey, sign
from streams.core.permissions import Role as CoreRole

T0 = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
WIRRAL = "urn:gss:E08000015"
LIVERPOOL = "urn:gss:E08000012"
GATEWAY = "urn:org:rps-gateway"
WIRRAL_KEY = SigningKey.generate(f"{WIRRAL}#a")
LIVERPOOL_KEY = SigningKey.generate(f"{LIVERPOOL}#a")
GATEWAY_KEY = SigningKey.generate(f"{GATEWAY}#a", voucher=GATEWAY)


def registered(source: str, role: Role) -> PublisherRegistered:
    return PublisherRegistered(source=source, role=role, registered_at=T0, registered_by="ops")


def key(signing: SigningKey, revoked_at: dt.datetime | None = None) -> KeyRecorded:
    owner = signing.key_id.split("#")[0]
    return KeyRecorded(
        source=owner,
        key_id=signing.key_id,
        public_key=signing.public_key(),
        added_at=T0,
        revoked_at=revoked_at,
        changed_by="ops",
    )


RECORDS: list[PublisherRegistered | KeyRecorded] = [
    registered(WIRRAL, Role.LOCAL_AUTHORITY),
    registered(LIVERPOOL, Role.LOCAL_AUTHORITY),
    registered(GATEWAY, Role.GATEWAY),
    key(WIRRAL_KEY),
    key(LIVERPOOL_KEY, revoked_at=T0 + dt.timedelta(hours=1)),
    key(GATEWAY_KEY),
]
VIEW = RegistryView().with_records(RECORDS)
LATER = T0 + dt.timedelta(minutes=5)


def event(source: str = WIRRAL) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(example_lines(ATTRIBUTE_VERIFIED)[0])
    return {**document, "source": source}


def test_a_publisher_signing_its_own_event_is_the_signer() -> None:
    """A valid key of the event's own source proves it: the signer names source, role and key."""
    assert verify(sign(event(), WIRRAL_KEY), LATER, VIEW) == Signer(
        WIRRAL, Role.LOCAL_AUTHORITY, WIRRAL_KEY.key_id
    )


def test_a_gateway_vouching_for_a_publisher_names_both() -> None:
    """Signed by the registered gateway's key: the signer is the source, vouched by the gateway."""
    assert verify(sign(event(), GATEWAY_KEY), LATER, VIEW) == Signer(
        WIRRAL, Role.LOCAL_AUTHORITY, GATEWAY_KEY.key_id, GATEWAY
    )


@pytest.mark.parametrize(
    ("document", "at", "reason"),
    [
        (event(), LATER, Unverified.UNSIGNED),
        ({**sign(event(), WIRRAL_KEY), SIGNATURE: "A" * 86}, LATER, Unverified.BAD_SIGNATURE),
        ({**sign(event(), WIRRAL_KEY), "subject": "x"}, LATER, Unverified.BAD_SIGNATURE),
        (sign(event(LIVERPOOL), WIRRAL_KEY), LATER, Unverified.SIGNER_NOT_SOURCE),
        (sign(event(), SigningKey.generate(f"{WIRRAL}#b")), LATER, Unverified.UNKNOWN_KEY),
        (sign(event(LIVERPOOL), LIVERPOOL_KEY), T0 + dt.timedelta(hours=1), Unverified.REVOKED_KEY),
        (sign(event(), WIRRAL_KEY), T0 - dt.timedelta(seconds=1), Unverified.KEY_NOT_YET_VALID),
        (
            sign(event(), SigningKey(WIRRAL_KEY.key_id, WIRRAL_KEY.private, voucher=WIRRAL)),
            LATER,
            Unverified.NOT_A_VOUCHER,
        ),
        (
            sign(event("urn:org:nobody"), SigningKey(f"{GATEWAY}#a", GATEWAY_KEY.private, GATEWAY)),
            LATER,
            Unverified.UNKNOWN_SOURCE,
        ),
    ],
    ids=[
        "unsigned",
        "forged-signature",
        "changed-after-signing",
        "another-publishers-key",
        "unregistered-key",
        "revoked",
        "before-added",
        "self-vouching",
        "unregistered-source",
    ],
)
def test_each_forgery_gets_its_reason(
    document: dict[str, Any], at: dt.datetime, reason: Unverified
) -> None:
    """Every way an event's origin can fail to be proven has one precise reason."""
    assert verify(document, at, VIEW) is reason


def test_a_revoked_key_still_proves_what_it_signed_before_revocation() -> None:
    """Validity is by record time: an event stamped before revoked_at verifies, later ones not."""
    signed = sign(event(LIVERPOOL), LIVERPOOL_KEY)
    assert isinstance(verify(signed, T0 + dt.timedelta(minutes=59), VIEW), Signer)
    assert verify(signed, T0 + dt.timedelta(minutes=60), VIEW) is Unverified.REVOKED_KEY


REVOKED_LATER = key(WIRRAL_KEY, revoked_at=T0 + dt.timedelta(hours=2))
REVOKED_EARLIER = key(WIRRAL_KEY, revoked_at=T0 + dt.timedelta(hours=1))


@given(st.permutations([*RECORDS, REVOKED_LATER, REVOKED_EARLIER]))
def test_folding_the_registry_does_not_depend_on_order(records: list[Any]) -> None:
    """Records on different partitions arrive in any order; the view is the same (revoke wins)."""
    folded = RegistryView().with_records(records)
    expected = RegistryView().with_records([*RECORDS, REVOKED_LATER, REVOKED_EARLIER])
    assert dict(folded.roles) == dict(expected.roles)
    assert dict(folded.keys) == dict(expected.keys)
    assert folded.keys[WIRRAL_KEY.key_id].revoked_at == T0 + dt.timedelta(hours=1)


def test_records_round_trip_through_the_topic_encoding() -> None:
    """What is written to the registry topic decodes to the same record; anything else is None."""
    for record in RECORDS:
        assert decode_record(encode_record(record)) == record
    assert record_key(RECORDS[0]) == WIRRAL.encode()
    assert record_key(RECORDS[3]) == f"{WIRRAL}|{WIRRAL_KEY.key_id}".encode()
    assert decode_record(b"not json") is None
    assert decode_record(None) is None


def test_a_key_record_must_belong_to_its_source() -> None:
    """A key id names its owner; a record filing it under another source is refused."""
    with pytest.raises(ValueError, match="key_not_owned"):
        KeyRecorded(
            source=LIVERPOOL,
            key_id=WIRRAL_KEY.key_id,
            public_key=WIRRAL_KEY.public_key(),
            added_at=T0,
            changed_by="ops",
        )


def test_a_view_is_fresh_enough_only_within_the_grace() -> None:
    """A view may judge an event stamped T only if it was caught up at T - grace or later."""
    grace = dt.timedelta(seconds=30)
    assert not fresh_enough(VIEW, T0, grace)
    view = VIEW.caught_up(T0)
    assert fresh_enough(view, T0 + grace, grace)
    assert not fresh_enough(view, T0 + grace + dt.timedelta(microseconds=1), grace)


def test_the_registry_roles_are_the_permission_catalogues_roles() -> None:
    """Parity: the registry's roles and the core's roles are the same names."""
    assert {role.value for role in Role} == {role.value for role in CoreRole}


def test_the_voucher_extension_is_not_trusted_without_the_gateway_role() -> None:
    """A council adding rpsvoucher naming the gateway does not make its own key a voucher key."""
    forged = sign({**event(LIVERPOOL), VOUCHER: GATEWAY}, WIRRAL_KEY)
    assert verify(forged, LATER, VIEW) is Unverified.SIGNER_NOT_SOURCE


def test_the_command_lines_roles_are_the_registrys() -> None:
    """`rps publishers add --role` offers exactly the registry's roles."""
    assert set(ROLES) == {role.value for role in Role}
