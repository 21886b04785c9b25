"""Backfill: when a subscription widens, ask every resident who may now be sent more to be
looked at again.

The scan reads every stored profile once per widening change (a rare operator
act), never per event. A cheap byte search skips profiles that cannot name the
authority before any is decoded; the re-evaluation itself is a control message
to the resident's partition, decided there in order with its other inputs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rps.logs import get_logger
from streams.core import SubscriptionChange
from streams.worker import stored
from streams.worker.ports import ProfileStore

log = get_logger("worker")

Request = Callable[[str, str, str], Awaitable[None]]
"""``request(resident, reason, cause)``: ask the resident's partition to re-evaluate it."""


async def backfill(profiles: ProfileStore, change: SubscriptionChange, request: Request) -> int:
    """Request a re-evaluation of every resident with a grant for ``change``'s authority;
    how many were asked."""
    needle = f'"{change.authority}"'.encode()
    count = 0
    for key, raw in list(profiles.items()):
        if (
            raw
            and needle in raw
            and stored.is_profile_key(key)
            and change.authority in stored.decode_profile(raw).state.grants
        ):
            await request(key.decode(), "subscription", change.id)
            count += 1
    log.info("backfill requested", authority=change.authority, count=count)
    return count
