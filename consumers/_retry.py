"""The consume loop's database retry: which failures mean the database is away, and how they
are tried again (stamina, jittered exponential backoff) before :class:`TransientFailure`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import stamina
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from consumers.errors import TransientFailure
from rps.keystore import KeyStoreUnavailable
from rps.logs import get_logger

_TRANSIENT = (OperationalError, InterfaceError, OSError, TimeoutError, KeyStoreUnavailable)
"""The database (or the key store in it) is away or busy. An integrity error is not among
them: a write that breaks a constraint is tried again alone (``consumer_poison_attempts``),
and then dead-lettered."""

log = get_logger("consumers.runner")


async def retry(action: Callable[[], Awaitable[Any]], *, attempts: int, backoff: float) -> Any:
    """``action``, tried again on a transient database failure with exponential backoff
    (from ``backoff``, doubling, at most 30 s, with as much jitter as the first wait),
    ``attempts`` times in all; then :class:`TransientFailure`."""
    retries = stamina.retry_context(
        on=transient,
        attempts=attempts,
        timeout=None,
        wait_initial=backoff,
        wait_max=30.0,
        wait_jitter=backoff,
    )
    try:
        async for attempt in retries:
            with attempt:
                try:
                    return await action()
                except Exception as error:
                    if transient(error) and attempt.num < attempts:
                        log.warning(
                            "database unavailable",
                            attempt=attempt.num,
                            retry_in=attempt.next_wait,
                            error_type=type(error).__name__,
                        )
                    raise
    except Exception as error:
        if transient(error):
            raise TransientFailure(f"database unavailable after {attempts} attempts") from error
        raise
    raise AssertionError("unreachable")


def transient(error: Exception) -> bool:
    """Whether ``error`` is the database being away (worth retrying), not a bug in the write."""
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated) or isinstance(error, _TRANSIENT)
    return isinstance(error, _TRANSIENT)
