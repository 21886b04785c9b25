"""The publishing SDK's typed forms: one method per inbound event type.

Each builds its event with :mod:`producers.events`, as the publisher's own
``source`` and stamped with its clock, and sends it with ``publish``.
:class:`producers.publisher.Publisher` is the one class that has them.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, Literal

from producers import events as build
from producers.receipts import Receipt
from schemas import AssuranceLevel, AttributeName, Event, RetractionReason


class TypedForms(ABC):
    """``publish_attribute``, ``retract``, ``grant_consent``, ``withdraw_consent`` and
    ``change_subscription``, for a publisher bound to one ``source``."""

    _clock: Callable[[], dt.datetime]

    @property
    @abstractmethod
    def source(self) -> str | None:
        """The ``source`` this publisher fills in and insists on, if it is bound to one."""

    @abstractmethod
    async def publish(self, event: Event, *, revalidate: bool = True) -> Receipt:
        """Send one event and return once Kafka has acknowledged it."""

    async def publish_attribute(
        self,
        resident: str,
        attribute: AttributeName | str,
        value: Any,
        assurance: AssuranceLevel | str,
        method: str,
        verified_at: dt.datetime,
        *,
        event_id: str | None = None,
    ) -> Receipt:
        """Report a verified attribute for a resident (``attribute.verified``)."""
        return await self.publish(
            build.verified(
                source=self._bound_source(),
                resident=resident,
                attribute=attribute,
                value=value,
                assurance=assurance,
                method=method,
                verified_at=verified_at,
                now=self._clock(),
                event_id=event_id,
            ),
            revalidate=False,
        )

    async def retract(
        self,
        resident: str,
        claim_id: str,
        attribute: AttributeName | str,
        reason: RetractionReason | str,
        *,
        event_id: str | None = None,
    ) -> Receipt:
        """Take back one of this publisher's own earlier claims, by its event id."""
        return await self.publish(
            build.retracted(
                source=self._bound_source(),
                resident=resident,
                claim_id=claim_id,
                attribute=attribute,
                reason=reason,
                now=self._clock(),
                event_id=event_id,
            ),
            revalidate=False,
        )

    async def grant_consent(
        self,
        resident: str,
        authority: str,
        attributes: Iterable[AttributeName | str],
        purpose: str,
        local_reference: str,
        *,
        expires_at: dt.datetime | None = None,
        event_id: str | None = None,
    ) -> Receipt:
        """Record that a resident lets ``authority`` receive ``attributes``."""
        return await self.publish(
            build.consent_granted(
                source=self._bound_source(),
                resident=resident,
                authority=authority,
                attributes=attributes,
                purpose=purpose,
                local_reference=local_reference,
                expires_at=expires_at,
                now=self._clock(),
                event_id=event_id,
            ),
            revalidate=False,
        )

    async def withdraw_consent(
        self,
        resident: str,
        authority: str,
        attributes: Iterable[AttributeName | str] | Literal["all"] = "all",
        *,
        event_id: str | None = None,
    ) -> Receipt:
        """Record that a resident stops ``authority`` receiving ``attributes`` (all by default)."""
        return await self.publish(
            build.consent_withdrawn(
                source=self._bound_source(),
                resident=resident,
                authority=authority,
                attributes=attributes,
                now=self._clock(),
                event_id=event_id,
            ),
            revalidate=False,
        )

    async def change_subscription(
        self,
        authority: str,
        attribute: AttributeName | str,
        minimum_assurance: AssuranceLevel | str,
        *,
        active: bool = True,
        event_id: str | None = None,
    ) -> Receipt:
        """Start (or, with ``active=False``, stop) ``authority`` receiving ``attribute``."""
        return await self.publish(
            build.subscription_changed(
                source=self._bound_source(),
                authority=authority,
                attribute=attribute,
                minimum_assurance=minimum_assurance,
                active=active,
                now=self._clock(),
                event_id=event_id,
            ),
            revalidate=False,
        )

    def _bound_source(self) -> str:
        if self.source is None:
            raise TypeError("this publisher has no source: pass source= to build events")
        return self.source
