"""What the trust tests send: the sources they register, their keys, and a sender that puts
events straight on the inbound topics, signed (or not, or tampered with) as a test says."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from aiokafka import AIOKafkaProducer

import schemas
from cli.spawn import environment
from producers import events as build
from rps import registry
from rps.settings import Settings
from schemas.registry import Role
from schemas.signing import SigningKey, sign_value
from schemas.topics import Topics

LIVERPOOL, WIRRAL = "E08000012", "E08000015"
COUNCIL = "urn:gss:E08000012"
WIRRAL_SOURCE = "urn:gss:E08000015"
REGISTRAR = "urn:org:gro"
GATEWAY = "urn:org:rps-gateway"
RESIDENT_APP = "urn:org:resident-app"
ADDRESS = {
    "uprn": "38012345",
    "lines": ["1 Dale Street"],
    "town": "Liverpool",
    "postcode": "L2 2DH",
    "local_authority": LIVERPOOL,
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)


async def register_keys(settings: Settings) -> dict[str, SigningKey]:
    """Each source registered with its role, and its signing key."""
    roles = {
        COUNCIL: Role.LOCAL_AUTHORITY,
        WIRRAL_SOURCE: Role.LOCAL_AUTHORITY,
        REGISTRAR: Role.REGISTRAR,
        RESIDENT_APP: Role.RESIDENT_APP,
        GATEWAY: Role.GATEWAY,
    }
    keys = {}
    for source, role in roles.items():
        issued = await registry.register(settings, source, role)
        voucher = GATEWAY if role is Role.GATEWAY else None  # it signs only for others
        keys[source] = SigningKey.from_file(issued.path, issued.key_id, voucher)
    return keys


class Sender:
    """Sends events straight to the inbound topics, signed (or not) as the test says."""

    def __init__(self, settings: Settings) -> None:
        self.topics = Topics(settings.topic_prefix)
        self.producer = AIOKafkaProducer(acks="all", **settings.kafka_client_options())

    async def send(
        self, event: schemas.Event, key: SigningKey | None, *, tamper: bool = False
    ) -> None:
        value = schemas.encode(event)
        if key is not None:
            value = sign_value(value, key)
        if tamper:  # one byte of the data changed after signing
            value = value.replace(b"1 Dale Street", b"2 Dale Street")
        if isinstance(event, schemas.SubscriptionChanged):
            topic, record_key = self.topics.subscriptions, event.data.authority
        elif isinstance(event, schemas.ConsentGranted | schemas.ConsentWithdrawn):
            topic, record_key = self.topics.consents, event.subject
        else:
            topic, record_key = self.topics.attributes, event.subject
        await self.producer.send_and_wait(topic, value, key=record_key.encode())


def claim(
    source: str, resident: str, attribute: str, value: object, level: str, method: str
) -> schemas.AttributeVerified:
    return build.verified(
        source=source,
        resident=resident,
        attribute=attribute,
        value=value,
        assurance=level,
        method=method,
        verified_at=now(),
        now=now(),
    )


def subscription(
    source: str, authority: str, attribute: str, level: str
) -> schemas.SubscriptionChanged:
    return build.subscription_changed(
        source=source,
        authority=authority,
        attribute=attribute,
        minimum_assurance=level,
        active=True,
        now=now(),
    )


def audit_show(settings: Settings, subject: str) -> str:
    """`rps audit show SUBJECT --json`, as an operator runs it: its output."""
    shown = subprocess.run(
        [str(Path(sys.executable).with_name("rps")), "audit", "show", subject, "--json"],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout
