"""Signatures: canonical bytes, sign and verify, both Kafka modes, and the envelope's extensions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings

from schemas import (
    ATTRIBUTE_VERIFIED,
    AuditDecision,
    AuditRecordedData,
    Event,
    InvalidEvent,
    decode,
    encode,
    to_binary,
)
from schemas.samples import example_lines
from schemas.signing import (
    KEY_ID,
    SIGNATURE,
    VOUCHER,
    SigningKey,
    canonical_bytes,
    sign,
    sign_value,
    signature_valid,
    wire_document,
)
from schemas.strategies import inbound_events
from schemas.validation import decode_with_document

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
KEY = SigningKey.generate("urn:gss:E08000015#2026-12-05a")


def first_example() -> dict[str, Any]:
    line = example_lines(ATTRIBUTE_VERIFIED)[0]
    document: dict[str, Any] = orjson.loads(line)
    return document


def test_a_signed_document_verifies_and_any_change_breaks_it() -> None:
    """The signature holds for the document as signed, and not once a data field changes."""
    signed = sign(first_example(), KEY)
    assert signed[KEY_ID] == KEY.key_id
    assert signature_valid(signed, KEY.public_key())
    tampered = {**signed, "data": {**signed["data"], "assurance": "very_high"}}
    assert not signature_valid(tampered, KEY.public_key())
    moved = {**signed, KEY_ID: "urn:gss:E08000015#other"}
    assert not signature_valid(moved, KEY.public_key())


def test_another_key_does_not_verify() -> None:
    """A signature verifies only under the public key of the key that made it."""
    signed = sign(first_example(), KEY)
    other = SigningKey.generate("urn:gss:E08000015#2026-12-05b")
    assert not signature_valid(signed, other.public_key())


def test_canonical_bytes_ignore_member_order_whitespace_and_the_signature() -> None:
    """The canonical form is sorted, compact, UTF-8, and leaves rpssig out."""
    document = first_example()
    reordered = dict(reversed(list(document.items())))
    assert canonical_bytes(document) == canonical_bytes(reordered)
    assert canonical_bytes({**document, SIGNATURE: "x" * 86}) == canonical_bytes(document)
    spaced = json.dumps(document, indent=4).encode()
    assert canonical_bytes(wire_document(spaced)) == canonical_bytes(document)
    assert b" " not in canonical_bytes({"a": 1, "b": [1, 2]})


def test_a_missing_datacontenttype_and_null_attributes_sign_as_absent() -> None:
    """Structured mode may omit datacontenttype; binary mode always has it: same bytes."""
    document = first_example()
    bare = {k: v for k, v in document.items() if k != "datacontenttype"}
    assert canonical_bytes(bare) == canonical_bytes(document)
    assert canonical_bytes({**document, VOUCHER: None}) == canonical_bytes(document)


def test_non_ascii_is_signed_as_utf8_not_escaped() -> None:
    """Names with accents are in the canonical bytes as UTF-8 (JCS), not as escapes."""
    assert (
        canonical_bytes({"n": "Siân"})
        == '{"datacontenttype":"application/json","n":"Siân"}'.encode()
    )


@settings(max_examples=40, deadline=None)
@given(inbound_events())
def test_structured_and_binary_modes_verify_the_same_signature(event: Event) -> None:
    """An event signed once verifies whether it travels in structured or binary mode."""
    value = sign_value(encode(event), KEY)
    signed = decode(value, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    binary_value, headers = to_binary(signed)
    assert ("ce_rpssig", str(signed.rpssig).encode()) in headers  # type: ignore[union-attr]
    for document in (wire_document(value), wire_document(binary_value, headers)):
        assert signature_valid(document, KEY.public_key())


@settings(max_examples=40, deadline=None)
@given(inbound_events())
def test_one_parse_gives_the_event_and_the_document_its_signature_covers(event: Event) -> None:
    """The worker parses each record once: the document decoding gives beside the event is the
    wire document, in both modes, and the event is the one decoding alone gives."""
    value = sign_value(encode(event), KEY)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    binary_value, headers = to_binary(decode(value, now=later))
    for raw, pairs in ((value, []), (binary_value, headers)):
        decoded, document = decode_with_document(raw, pairs, now=later)
        assert document == wire_document(raw, pairs)
        assert decoded == decode(raw, pairs, now=later)
        assert signature_valid(document, KEY.public_key())


def test_the_envelope_accepts_the_extensions_and_checks_their_shape() -> None:
    """rpssig, rpskeyid and rpsvoucher are accepted on input; malformed ones are refused."""
    gateway = SigningKey.generate("urn:org:rps-gateway#1", voucher="urn:org:rps-gateway")
    signed = sign(first_example(), gateway)
    event = decode(orjson.dumps(signed), now=NOW)
    assert event.rpskeyid == gateway.key_id  # type: ignore[union-attr]
    assert event.rpsvoucher == "urn:org:rps-gateway"  # type: ignore[union-attr]
    for name, bad, rule in (
        (SIGNATURE, "not base64!", "signature_format"),
        (KEY_ID, "E08000015-key", "key_id_format"),
        (VOUCHER, "gateway", "source_format"),
    ):
        with pytest.raises(InvalidEvent) as caught:
            decode(orjson.dumps({**signed, name: bad}), now=NOW)
        assert [(error.field, error.rule) for error in caught.value.errors] == [(name, rule)]


def test_unsigned_events_encode_exactly_as_before() -> None:
    """An event without a signature carries no extension members at all."""
    event = decode(example_lines(ATTRIBUTE_VERIFIED)[0], now=NOW)
    encoded = encode(event)
    assert b"rpssig" not in encoded
    assert b"rpskeyid" not in encoded
    assert b"rpsvoucher" not in encoded


def test_a_key_round_trips_through_a_0600_file(tmp_path: Path) -> None:
    """The private key file is written owner-only, never replaced, and loads to the same key."""
    path = tmp_path / "keys" / "council.pem"
    KEY.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = SigningKey.from_file(path, KEY.key_id)
    assert loaded.public_key() == KEY.public_key()
    with pytest.raises(FileExistsError):
        KEY.write(path)


def test_audit_records_name_the_signer_only_when_there_is_one() -> None:
    """signed_with and vouched_by are left out when unset, and chain stays the last field, so
    records written before them hash (and link) exactly as before."""
    data = AuditRecordedData(
        decision=AuditDecision.ACCEPTED,
        event_id="e-1",
        event_type=ATTRIBUTE_VERIFIED,
        event_source="urn:gss:E08000015",
    )
    plain = data.model_dump_json()
    assert "signed_with" not in plain
    assert "vouched_by" not in plain
    assert plain.endswith('"chain":null}')
    signed = data.model_copy(
        update={"signed_with": KEY.key_id, "vouched_by": "urn:org:rps-gateway"}
    ).model_dump_json()
    assert signed.endswith('"chain":null}')
    assert KEY.key_id in signed
