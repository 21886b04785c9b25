"""One delivery to one endpoint, signed as Standard Webhooks says, tried until the answer is final.

The body is the delivery as a CloudEvent in structured mode
(``content-type: application/cloudevents+json``). ``webhook-id`` is the
decision id and version, the same on every try and after a crash, so the
receiver dedupes by it. ``webhook-timestamp`` is the time of this try and
``webhook-signature`` its signature under the endpoint's secret (and, during a
rotation, also under the previous one). Transient answers (408, 429, 5xx,
timeouts, connection errors) are retried by ``stamina`` with exponential
backoff and jitter, without limit, or after the ``Retry-After`` the endpoint
asked for; only a 2xx or a refusal ends the tries. Every try is counted by its
result, and every answer's latency observed (``consumers.webhooks._metrics``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import stamina
from standardwebhooks.webhooks import Webhook

from consumers.webhooks import _metrics
from consumers.webhooks._answers import Answer, Verdict, judge
from consumers.webhooks._endpoints import Endpoint
from rps.logs import get_logger
from rps.settings import Settings

CONTENT_TYPE = "application/cloudevents+json"

log = get_logger("consumers.webhooks")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One delivery ready to POST: its idempotency key, the body, and ids for the logs."""

    webhook_id: str
    body: bytes
    decision_id: str
    version: int


def webhook_id(decision_id: str, version: int) -> str:
    """The idempotency key of a delivery: ``<decision id>.v<version>``."""
    return f"{decision_id}.v{version}"


def signed_headers(endpoint: Endpoint, outgoing: Outgoing, now: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one try, signed with every secret that signs now."""
    signatures = " ".join(
        Webhook(secret).sign(outgoing.webhook_id, now, outgoing.body)
        for secret in endpoint.signing_secrets(now)
    )
    return {
        "content-type": CONTENT_TYPE,
        "webhook-id": outgoing.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }


class _Transient(Exception):
    """A try that must be repeated; carries the endpoint's ``Retry-After`` when it gave one."""

    def __init__(self, answer: Answer | None, error_type: str | None = None) -> None:
        super().__init__(error_type or f"http_{answer.status if answer else 'none'}")
        self.answer = answer
        self.error_type = error_type


class Sender:
    """POSTs deliveries to one authority's endpoint until each answer is final."""

    def __init__(
        self,
        settings: Settings,
        client: aiohttp.ClientSession,
        endpoint: Callable[[], Awaitable[Endpoint]],
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._settings = settings
        self._client = client
        self._endpoint = endpoint
        self._clock = clock
        self.retries = 0

    async def deliver(self, outgoing: Outgoing, authority: str) -> Answer:
        """The final answer (applied or refused) to ``outgoing``; transient ones are retried."""
        s = self._settings
        for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=None,
            timeout=None,
            wait_initial=s.webhook_backoff_initial_seconds,
            wait_max=s.webhook_backoff_max_seconds,
            wait_jitter=s.webhook_backoff_initial_seconds,
        ):
            with attempt:
                if attempt.num > 1:
                    self.retries += 1
                return await self._try(outgoing, authority, attempt.num)
        raise AssertionError("unreachable: retries are unbounded")

    async def _try(self, outgoing: Outgoing, authority: str, attempt: int) -> Answer:
        endpoint = await self._endpoint()
        now = self._clock()
        started = time.perf_counter()
        try:
            async with self._client.post(
                endpoint.url,
                data=outgoing.body,
                headers=signed_headers(endpoint, outgoing, now),
                timeout=aiohttp.ClientTimeout(total=self._settings.webhook_timeout_seconds),
                allow_redirects=False,
            ) as response:
                status, retry_after = response.status, response.headers.get("retry-after")
        except (aiohttp.ClientError, TimeoutError) as error:  # timeouts, refusals, resets
            result = "timeout" if isinstance(error, TimeoutError) else "connection_error"
            _metrics.ATTEMPTS.labels(authority, result).inc()
            log.warning(
                "webhook not answered",
                authority=authority,
                decision_id=outgoing.decision_id,
                attempt=attempt,
                error_type=type(error).__name__,
            )
            raise _Transient(None, type(error).__name__) from None
        _metrics.POST_SECONDS.labels(authority).observe(time.perf_counter() - started)
        _metrics.ATTEMPTS.labels(authority, _metrics.status_result(status)).inc()
        answer = judge(status, retry_after, now)
        if answer.verdict is Verdict.RETRY:
            log.warning(
                "webhook to be retried",
                authority=authority,
                decision_id=outgoing.decision_id,
                attempt=attempt,
                status=answer.status,
            )
            raise _Transient(answer)
        return answer

    def _backoff(self, error: Exception) -> bool | float:
        """stamina's hook: retry every transient failure, after ``Retry-After`` when given."""
        if not isinstance(error, _Transient):
            return False
        wait = error.answer.retry_after if error.answer else None
        if wait is None:
            return True
        return min(wait, self._settings.webhook_max_retry_after_seconds)
