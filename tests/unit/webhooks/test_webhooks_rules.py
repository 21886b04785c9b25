"""The webhooks' rules without any network: answers, Retry-After, endpoint URLs, signatures."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from consumers.webhooks import Endpoint, InsecureEndpoint, Verdict, check_url, judge
from consumers.webhooks._answers import parse_retry_after
from consumers.webhooks._endpoints import new_secret
from consumers.webhooks._relay import _structured
from consumers.webhooks._sender import Outgoing, signed_headers
from schemas import decode
from schemas.validation import to_binary
from tests.unit.consumers.events import address, profile_updated, record

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.APPLIED),
        (204, Verdict.APPLIED),
        (400, Verdict.REFUSED),
        (401, Verdict.REFUSED),
        (410, Verdict.REFUSED),
        (422, Verdict.REFUSED),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (301, Verdict.RETRY),
    ],
)
def test_each_status_gets_its_verdict(status: int, verdict: Verdict) -> None:
    """2xx applied; 4xx refused except 408 and 429; everything else tried again."""
    assert judge(status, None, NOW).verdict is verdict


def test_a_refusal_names_its_status() -> None:
    """The dead-letter reason of a refusal carries the HTTP status."""
    assert judge(410, None, NOW).reason == "webhook_refused:http_410"


def test_retry_after_in_seconds_or_as_a_date() -> None:
    """Retry-After is read as delta-seconds or an HTTP date; nonsense is ignored."""
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after("Sat, 05 Dec 2026 12:00:30 GMT", NOW) == 30.0
    assert parse_retry_after("Sat, 05 Dec 2026 11:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
    assert judge(429, "3", NOW).retry_after == 3.0


@pytest.mark.parametrize(
    "url",
    [
        "https://council.example.gov.uk/hooks/rps",
        "http://127.0.0.1:8123/",
        "http://localhost/hook",
        "http://[::1]:9000/",
    ],
)
def test_https_or_loopback_endpoints_are_accepted(url: str) -> None:
    """https:// anywhere, http:// only on a loopback address."""
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://council.example.gov.uk/hook",
        "http://10.0.0.5/hook",
        "ftp://127.0.0.1/",
        "https://user:pw@council.example.gov.uk/",
        "not a url",
    ],
)
def test_other_endpoints_are_refused(url: str) -> None:
    """Plain http:// outside loopback, other schemes and credentials in the URL are refused."""
    with pytest.raises(InsecureEndpoint):
        check_url(url)


def _endpoint(previous: str | None, until: dt.datetime | None) -> Endpoint:
    return Endpoint("E08000012", "https://x.example/", NOW, NOW, new_secret(), previous, until)


def test_signatures_verify_with_standardwebhooks_under_each_signing_secret() -> None:
    """During a rotation's grace both secrets verify; afterwards only the new one does."""
    old = new_secret()
    outgoing = Outgoing("dec-1.v3", b'{"specversion":"1.0"}', "dec-1", 3)
    now = dt.datetime.now(dt.UTC)
    during = _endpoint(old, now + dt.timedelta(hours=1))
    headers = signed_headers(during, outgoing, now)
    assert headers["webhook-id"] == "dec-1.v3"
    assert headers["content-type"] == "application/cloudevents+json"
    for secret in (during.secret, old):
        assert Webhook(secret).verify(outgoing.body, headers) == {"specversion": "1.0"}
    after = _endpoint(old, now - dt.timedelta(seconds=1))
    headers = signed_headers(after, outgoing, now)
    assert Webhook(after.secret).verify(outgoing.body, headers) == {"specversion": "1.0"}
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(outgoing.body, headers)
    with pytest.raises(WebhookVerificationError):  # a changed body no longer verifies
        Webhook(after.secret).verify(b'{"specversion":"1.1"}', headers)


def test_secrets_never_show_in_an_endpoints_repr() -> None:
    """Printing or logging an endpoint shows no secret."""
    old = new_secret()
    endpoint = _endpoint(old, NOW)
    assert endpoint.secret not in repr(endpoint)
    assert old not in repr(endpoint)


def test_a_delivery_in_binary_mode_is_posted_in_structured_mode() -> None:
    """A record in Kafka's binary mode (ce_ headers) is POSTed as the structured CloudEvent;
    one in structured mode is POSTed byte for byte."""
    structured = profile_updated(3, address("Flat 3"))
    event = decode(structured)
    data, headers = to_binary(event)
    binary_record = dataclasses.replace(record(structured), value=data, headers=headers)
    assert decode(_structured(binary_record)) == event
    assert orjson.loads(_structured(binary_record))["specversion"] == "1.0"
    assert _structured(record(structured)) == structured
