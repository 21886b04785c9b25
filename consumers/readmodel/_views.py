"""What the resident pages and operators read from the hub's read model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.readmodel._facts import ClaimSeen, GrantSeen, RetractionSeen, WithdrawalSeen
from consumers.readmodel._merge import ConsentNow, _core_claim, _core_retraction, consent_now
from consumers.readmodel._tables import (
    acknowledgements,
    audit,
    claims,
    consent_grants,
    consent_withdrawals,
    profile,
    retractions,
)
from streams.core import ResidentState, best_claim


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """The value that stands for one attribute, and where it came from."""

    attribute: str
    value: Any
    claim_id: str
    source: str
    assurance: str
    method: str
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimHeld:
    """One claim the hub holds, standing or not; retracted ones say why and when."""

    attribute: str
    value: Any
    claim_id: str
    source: str
    assurance: str
    method: str
    verified_at: datetime
    retracted_reason: str | None
    retracted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Decision:
    """One audited decision about the resident, with the authority's acknowledgement if any."""

    recorded_at: datetime
    decision: str
    reason: str | None
    event_type: str
    event_source: str
    attribute: str | None
    authority: str | None
    claim_id: str | None
    assurance: str | None
    decision_id: str | None
    version: int | None
    acknowledged_at: datetime | None
    acknowledged_status: str | None = None
    """``applied``, or ``conflict``: the authority could not match its reference to the resident."""


@dataclass(frozen=True, slots=True)
class ResidentView:
    """Everything a resident may see: profile, consents, and who got what, when and why."""

    resident: str
    profile: tuple[ProfileEntry, ...]
    consents: tuple[ConsentNow, ...]
    history: tuple[Decision, ...]


class ReadModel:
    """Queries over the hub's read model; build with ``open_read_model``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def resident(self, resident: str, now: datetime) -> ResidentView:
        """The resident's view at ``now`` (consent expiry is judged against it)."""
        return ResidentView(
            resident=resident,
            profile=tuple(await self.profile(resident)),
            consents=tuple(await self.consents(resident, now)),
            history=tuple(await self.history(resident)),
        )

    async def profile(self, resident: str) -> list[ProfileEntry]:
        query = select(profile).where(profile.c.resident == resident).order_by(profile.c.attribute)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            ProfileEntry(
                attribute=row.attribute,
                value=orjson.loads(row.value_json),
                claim_id=row.claim_id,
                source=row.source,
                assurance=row.assurance,
                method=row.method,
                verified_at=row.verified_at,
            )
            for row in rows
        ]

    async def claims(self, resident: str) -> list[ClaimHeld]:
        """Every claim held about the resident, oldest verification first."""
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(claims)
                    .where(claims.c.resident == resident)
                    .order_by(claims.c.verified_at, claims.c.claim_id)
                )
            ).all()
            retraction_rows = (
                await connection.execute(
                    select(retractions).where(retractions.c.resident == resident)
                )
            ).all()
        # A retraction counts only from the claim's own publisher (the merge rule).
        retracted = {(r.claim_id, r.source): r for r in retraction_rows}
        out = []
        for row in rows:
            retraction = retracted.get((row.claim_id, row.source))
            out.append(
                ClaimHeld(
                    attribute=row.attribute,
                    value=orjson.loads(row.value_json),
                    claim_id=row.claim_id,
                    source=row.source,
                    assurance=row.assurance,
                    method=row.method,
                    verified_at=row.verified_at,
                    retracted_reason=retraction.reason if retraction else None,
                    retracted_at=retraction.issued_at if retraction else None,
                )
            )
        return out

    async def consents(self, resident: str, now: datetime) -> list[ConsentNow]:
        async with self._engine.connect() as connection:
            grants = (
                await connection.execute(
                    select(consent_grants).where(consent_grants.c.resident == resident)
                )
            ).all()
            withdrawals = (
                await connection.execute(
                    select(consent_withdrawals).where(consent_withdrawals.c.resident == resident)
                )
            ).all()
        by_authority: dict[str, list[WithdrawalSeen]] = {}
        for w in withdrawals:
            by_authority.setdefault(w.authority, []).append(
                WithdrawalSeen(w.event_id, resident, w.authority, (w.attribute,), w.issued_at)
            )
        granted = {
            g.authority: GrantSeen(
                event_id=g.event_id,
                resident=resident,
                authority=g.authority,
                attributes=tuple(g.attributes.split(",")),
                purpose=g.purpose,
                local_reference=g.local_reference,
                expires_at=g.expires_at,
                issued_at=g.issued_at,
            )
            for g in grants
        }
        return [
            consent_now(authority, granted.get(authority), by_authority.get(authority, ()), now)
            for authority in sorted(granted.keys() | by_authority.keys())
        ]

    async def history(self, resident: str) -> list[Decision]:
        """Every audited decision about the resident, oldest first, deliveries with their acks."""
        ack = acknowledgements
        query = (
            select(audit, ack.c.applied_at, ack.c.status)
            .outerjoin(
                ack,
                (ack.c.decision_id == audit.c.decision_id) & (ack.c.authority == audit.c.authority),
            )
            .where(audit.c.subject == resident)
            .order_by(audit.c.recorded_at, audit.c.topic, audit.c.partition, audit.c.offset)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            Decision(
                recorded_at=row.recorded_at,
                decision=row.decision,
                reason=row.reason,
                event_type=row.event_type,
                event_source=row.event_source,
                attribute=row.attribute,
                authority=row.authority,
                claim_id=row.claim_id,
                assurance=row.assurance,
                decision_id=row.decision_id,
                version=row.version,
                acknowledged_at=row.applied_at,
                acknowledged_status=row.status,
            )
            for row in rows
        ]

    async def visible_to(
        self, resident: str, attribute: str, minimum_level: int, authority: str
    ) -> ProfileEntry | None:
        """The value an authority asking for ``minimum_level`` would be sent now, if any.

        The hub's own rule: the live claim with the greatest ``(verified_at, id)``
        among levels >= ``minimum_level``, never the authority's own claim.
        """
        seen, retracted = await self._history_of(resident, attribute)
        state = ResidentState(
            claims={c.claim_id: _core_claim(c) for c in seen.values()},
            retractions={r.event_id: _core_retraction(r) for r in retracted},
        )
        best = best_claim(state, attribute, minimum_level, exclude_source=authority)
        if best is None:
            return None
        claim = seen[best.id]
        return ProfileEntry(
            attribute=claim.attribute,
            value=orjson.loads(claim.value_json),
            claim_id=claim.claim_id,
            source=claim.source,
            assurance=claim.assurance,
            method=claim.method,
            verified_at=claim.verified_at,
        )

    async def _history_of(
        self, resident: str, attribute: str
    ) -> tuple[dict[str, ClaimSeen], list[RetractionSeen]]:
        """Every claim (by id) and every retraction of one resident's attribute."""
        async with self._engine.connect() as connection:
            claim_rows = (
                await connection.execute(
                    select(claims).where(
                        (claims.c.resident == resident) & (claims.c.attribute == attribute)
                    )
                )
            ).all()
            retraction_rows = (
                await connection.execute(
                    select(retractions).where(
                        (retractions.c.resident == resident)
                        & (retractions.c.attribute == attribute)
                    )
                )
            ).all()
        seen = {
            row.claim_id: ClaimSeen(
                row.claim_id,
                row.resident,
                row.attribute,
                row.source,
                row.assurance,
                row.method,
                row.verified_at,
                row.value_json,
            )
            for row in claim_rows
        }
        retracted = [
            RetractionSeen(
                row.event_id,
                row.resident,
                row.claim_id,
                row.attribute,
                row.source,
                row.reason,
                row.issued_at,
            )
            for row in retraction_rows
        ]
        return seen, retracted

    async def close(self) -> None:
        await self._engine.dispose()
