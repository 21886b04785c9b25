"""The demo's publishers as the registry knows them: each source registered with its role and a
key on the demo's fresh topics, so every event the demo publishes is signed by its own source
(docs/trust.md); and one forged consent, signed by a council, that the worker must refuse."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import schemas
from producers import Publisher
from producers import events as build
from rps import registry
from rps.settings import Settings
from schemas.registry import Role
from schemas.signing import SigningKey

ROLES = {
    "urn:gss:E08000012": Role.LOCAL_AUTHORITY,
    "urn:gss:E08000015": Role.LOCAL_AUTHORITY,
    "urn:gss:E08000014": Role.LOCAL_AUTHORITY,
    "urn:org:dwp": Role.CENTRAL_SERVICE,
    "urn:org:dvla": Role.CENTRAL_SERVICE,
    "urn:org:gro": Role.REGISTRAR,
    "urn:org:resident-app": Role.RESIDENT_APP,
}


class SignedPublishers:
    """One started publisher per source, each signing with that source's registered key."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.keys: dict[str, SigningKey] = {}
        self._publishers: dict[str, Publisher] = {}

    async def __aenter__(self) -> Self:
        for source, role in ROLES.items():
            issued = await registry.register(self._settings, source, role)
            key = SigningKey.from_file(issued.path, issued.key_id)
            self.keys[source] = key
            self._publishers[source] = Publisher(self._settings, signing=key)
            await self._publishers[source].start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for publisher in self._publishers.values():
            await publisher.close()

    async def publish_many(self, events: Iterable[schemas.Event]) -> None:
        """Publish ``events`` in order, each signed by its own source."""
        for source, run in itertools.groupby(events, key=lambda event: event.source):
            await self._publishers[source].publish_many(list(run))

    async def forge_consent(self, resident: str, authority: str, now: dt.datetime) -> schemas.Event:
        """A consent for ``authority`` published by that authority itself, correctly signed
        with its own key: a council may not say a resident consented (refused by the worker)."""
        source = schemas.source_of_authority(authority)
        forged = build.consent_granted(
            source=source,
            resident=resident,
            authority=authority,
            attributes=["address", "email"],
            purpose="tell_us_once",
            local_reference="FORGED-1",
            now=now,
        )
        await self._publishers[source].publish(forged)
        return forged
