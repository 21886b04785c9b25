"""What an endpoint's answer means, free of any HTTP client: applied, refused, or try again.

A 2xx is applied. A 4xx other than 408 and 429 is refused for good: the
delivery is dead-lettered with the status. 408, 429, any 5xx (and, in the
sender, a timeout or a connection error) are transient: the delivery is sent
again after a backoff, or after the ``Retry-After`` the endpoint asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class Verdict(StrEnum):
    APPLIED = "applied"
    REFUSED = "refused"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Answer:
    """The endpoint's final or transient answer to one delivery."""

    verdict: Verdict
    status: int | None
    retry_after: float | None = None

    @property
    def reason(self) -> str:
        """The dead-letter reason of a refusal: ``webhook_refused:http_<status>``."""
        return f"webhook_refused:http_{self.status}"


_TRANSIENT_4XX = frozenset({408, 429})


def judge(status: int, retry_after: str | None, now: datetime) -> Answer:
    """The verdict on an HTTP status, with ``Retry-After`` (seconds or a date) when transient."""
    if 200 <= status < 300:
        return Answer(Verdict.APPLIED, status)
    if 400 <= status < 500 and status not in _TRANSIENT_4XX:
        return Answer(Verdict.REFUSED, status)
    return Answer(Verdict.RETRY, status, parse_retry_after(retry_after, now))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if
    absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
