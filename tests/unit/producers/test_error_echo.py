"""Errors name only what the contracts define and stay short: no made-up key, no value, capped.

A key a sender made up may be personal data (an email address or an NI number
used as a key), so the gateway's 422, ``rps publish`` and ``rps validate`` show
it as ``*``; and however many rules a request breaks, at most ``MAX_LISTED``
errors are listed with a count of the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import structlog
from typer.testing import CliRunner

from cli.main import app
from producers import InvalidInput
from producers.credentials import PublisherCredential
from producers.gateway import create_app
from producers.inputs import read_document, read_retraction
from producers.publisher import Publisher
from rps.settings import Settings
from schemas import CONSENT_GRANTED, MAX_LISTED, InvalidEvent, check
from schemas.samples import example_lines
from tests.unit.producers.support import RESIDENT, SOURCE, cloudevent, line, simple

KEY_AS_EMAIL = "jane.planted@example.org"
KEY_AS_NI = "QQ123456C"
"""Keys a sender made up; identifier-shaped (NI) or not (email), neither may be repeated."""

NOW = dt.datetime.now(dt.UTC)
KEY = "rps_unit-test-key"


class OneKey:
    """Knows one key, bound to SOURCE."""

    async def authenticate(self, key: str) -> PublisherCredential | None:
        return PublisherCredential("pub_unit", SOURCE, NOW, None) if key == KEY else None


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(bootstrap_servers="127.0.0.1:9", producer_send_timeout_seconds=1)
    publisher = Publisher(settings)
    transport = httpx.ASGITransport(app=create_app(settings, publisher, OneKey()))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
    await publisher.close()


def planted() -> dict[str, object]:
    return simple(**{KEY_AS_EMAIL: "x", KEY_AS_NI: "y"})


def test_unknown_simple_form_keys_are_one_error_that_names_neither() -> None:
    """Two made-up keys give one ``*: extra_field``; neither key appears in the error."""
    with pytest.raises(InvalidInput) as refused:
        read_document(planted(), source=SOURCE, now=NOW)
    assert [(e.field, e.rule) for e in refused.value.errors] == [("*", "extra_field")]
    text = str(refused.value) + repr(refused.value.errors)
    assert KEY_AS_EMAIL not in text
    assert KEY_AS_NI not in text


def test_a_known_name_in_the_wrong_place_is_still_named() -> None:
    """A name the contracts define (``time``) is no secret, so the error says which it was."""
    with pytest.raises(InvalidInput) as refused:
        read_document(simple(time="2025-01-01T00:00:00Z"), source=SOURCE, now=NOW)
    assert [(e.field, e.rule) for e in refused.value.errors] == [("time", "extra_field")]


def test_unknown_retraction_keys_are_not_named() -> None:
    """A retraction request's made-up key is hidden the same way."""
    document = {
        "resident": RESIDENT,
        "claim_id": "c-1",
        "attribute": "email",
        "reason": "reported_in_error",
        KEY_AS_EMAIL: 1,
    }
    with pytest.raises(InvalidInput) as refused:
        read_retraction(document, source=SOURCE, now=NOW)
    assert ("*", "extra_field") in {(e.field, e.rule) for e in refused.value.errors}
    assert KEY_AS_EMAIL not in str(refused.value)


@pytest.mark.parametrize("in_data", [False, True])
def test_unknown_cloudevent_keys_are_not_named_even_when_they_look_like_names(
    in_data: bool,
) -> None:
    """An identifier-shaped key (an NI number) in the envelope or data is ``*`` too."""
    document = cloudevent()
    (document["data"] if in_data else document)[KEY_AS_NI] = "y"
    result = check(line(document))
    assert isinstance(result, InvalidEvent)
    assert [e.field for e in result.errors] == ["data.*" if in_data else "*"]
    assert KEY_AS_NI not in str(result)


def test_a_key_of_digits_is_hidden_but_a_list_index_is_shown() -> None:
    """A made-up key "123456" (an account number) is ``*``; a position in a list is kept."""
    document = orjson.loads(example_lines(CONSENT_GRANTED)[0])
    document["data"]["123456"] = 1
    document["data"]["attributes"] = ["email", 7]
    result = check(line(document))
    assert isinstance(result, InvalidEvent)
    assert {e.field for e in result.errors} == {"data.*", "data.attributes.1"}
    assert "123456" not in str(result)


async def test_the_gateway_422_repeats_no_made_up_key(client: httpx.AsyncClient) -> None:
    """The problem document names ``*``, never the key, for one event and in a batch."""
    one = await client.post("/v1/events", content=line(planted()), headers=auth())
    batch = await client.post("/v1/events/batch", content=line([planted()]), headers=auth())
    for response in (one, batch):
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "*"
        assert KEY_AS_EMAIL not in response.text
        assert KEY_AS_NI not in response.text


async def test_a_batch_breaking_many_rules_lists_the_first_ones_and_counts_the_rest(
    client: httpx.AsyncClient,
) -> None:
    """1,000 bad events of several errors each: 20 errors listed, the rest counted, a small body."""
    bad = simple(resident="nobody", assurance="extreme", value="not a phone")
    body = line([bad] * 1000)
    response = await client.post("/v1/events/batch", content=body, headers=auth())
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == MAX_LISTED
    assert problem["more_errors"] == 3 * 1000 - MAX_LISTED
    assert len(response.content) < 8 * 1024 < len(body)


def test_rps_publish_prints_no_made_up_key_and_caps_a_lines_errors(tmp_path: Path) -> None:
    """stderr and the rejected file's errors name ``*``; a line of many errors is capped."""
    many = orjson.loads(example_lines(CONSENT_GRANTED)[0])
    many["source"] = SOURCE
    many["data"]["attributes"] = list(range(500))  # 500 errors: one per attribute
    events = tmp_path / "events.jsonl"
    events.write_bytes(line(planted()) + b"\n" + line(many) + b"\n")
    result = CliRunner().invoke(
        app,
        ["publish", str(events), "--dry-run", "--source", SOURCE],
        env={"RPS_BOOTSTRAP_SERVERS": "127.0.0.1:9"},
    )
    assert result.exit_code == 1
    assert "line 1: *: extra_field" in result.stderr
    assert KEY_AS_EMAIL not in result.stdout + result.stderr
    assert KEY_AS_NI not in result.stdout + result.stderr
    assert f"; and {500 - MAX_LISTED} more" in result.stderr
    rejected = (tmp_path / "events.jsonl.rejected.jsonl").read_bytes().splitlines()
    first, second = (orjson.loads(row) for row in rejected)
    assert KEY_AS_EMAIL not in orjson.dumps(first["errors"]).decode()
    assert (len(second["errors"]), second["more_errors"]) == (MAX_LISTED, 500 - MAX_LISTED)


def test_rps_validate_prints_no_made_up_key(tmp_path: Path) -> None:
    """`rps validate` names the envelope's unknown key ``*``."""
    events = tmp_path / "events.jsonl"
    document = cloudevent()
    document[KEY_AS_EMAIL] = 1
    events.write_bytes(line(document) + b"\n")
    result = CliRunner().invoke(app, ["validate", str(events)])
    assert result.exit_code == 1
    assert "* extra_field" in result.stderr
    assert KEY_AS_EMAIL not in result.stdout + result.stderr
