"""The HTTP gateway for publishers that do not speak Kafka: FastAPI routes over a Publisher.

Every request is checked in the same order: the API key (401), the body's size
(413) and JSON (400), the ``source`` against the key's own (403), the event
against the contract (422), the source's role in the publisher registry
(403 ``not-registered``, ``not-permitted``); only then is it sent, signed with
the gateway's own key as voucher, and the answer is 202 only
after Kafka has acknowledged it. When Kafka does not answer the gateway says
503 with ``Retry-After``, never a silent drop. Every error is an RFC 9457
problem document that names fields and rules, never a value sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from producers.credentials import PublisherCredential
from producers.errors import EventRejected, NotPublishable, PublishFailed, SourceMismatch
from producers.gateway._metrics import EVENTS, REFUSALS
from producers.gateway.contract import component_schemas, problem_responses, request_body
from producers.gateway.dependencies import Authenticator, Body, Caller, Wired, Wiring, utcnow
from producers.gateway.feed_routes import FeedWiring
from producers.gateway.feed_routes import router as feed_router
from producers.gateway.problems import Located, Problem, ProblemResponse
from producers.gateway.trust import Roles, not_registered
from producers.inputs import read_document, read_retraction
from producers.publisher import Publisher
from rps.http_metrics import RequestMetrics
from rps.logs import get_logger
from rps.settings import Settings
from schemas import ROOT, Event, FieldError

_log = get_logger("producers.gateway")


class Accepted(BaseModel):
    """Kafka has acknowledged the event."""

    id: str


class AcceptedBatch(BaseModel):
    """Kafka has acknowledged every event of the batch; ids in request order."""

    ids: list[str]


class Health(BaseModel):
    """The gateway runs and Kafka answers."""

    status: str
    kafka: str


def create_app(
    settings: Settings,
    publisher: Publisher,
    authenticator: Authenticator,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    roles: Roles | None = None,
    feed: FeedWiring | None = None,
) -> FastAPI:
    """The gateway application; the caller owns (starts and closes) the publisher and store.

    With ``roles`` (the publisher registry), each event is checked against the
    caller's role before it is sent (403 ``not-permitted``).
    """
    app = FastAPI(
        title="Resident Profile Sync: publishing gateway",
        version="1.0.0",
        description=(
            "Publish verified-attribute events to the hub over HTTP. Each publisher has its "
            "own API key, bound to one CloudEvents `source`. A 202 means Kafka has "
            "acknowledged the event. Authorities without Kafka read their deliveries from the "
            "pull feed (`/v1/deliveries`) with their own feed key. Errors are RFC 9457 problem "
            "documents "
            "(`application/problem+json`) that never repeat a value you sent."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.wiring = Wiring(settings, publisher, authenticator, clock, roles)
    app.include_router(router)
    app.state.feed = feed  # the pull feed (feed_routes): None when the caller serves no feed
    app.include_router(feed_router)
    app.add_middleware(RequestMetrics, service="gateway")
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                component_schemas()
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


# --- routes ------------------------------------------------------------------------------------

router = APIRouter()
_PROBLEMS: Final = problem_responses()


@router.post(
    "/v1/events",
    operation_id="publishEvent",
    status_code=202,
    response_model=Accepted,
    summary="Publish one event",
    description=(
        "A CloudEvent in structured JSON mode whose `source` is yours, or the simple form of a "
        "verified attribute (the gateway fills `id`, `time`, `source` and `type`). Answers 202 "
        "once Kafka has acknowledged it."
    ),
    responses=_PROBLEMS,
    openapi_extra=request_body("#/components/schemas/PublishRequest"),
)
async def publish_one(wiring: Wired, credential: Caller, document: Body) -> JSONResponse:
    event = _read(document, credential, None, wiring.clock())
    await _permit(wiring, credential, [event], batch=False)
    await _send(wiring, [event], credential)
    return JSONResponse({"id": event.id}, status_code=202)


@router.post(
    "/v1/events/batch",
    operation_id="publishBatch",
    status_code=202,
    response_model=AcceptedBatch,
    summary="Publish a batch of events",
    description=(
        "A JSON array of events (either form). Every event is checked first: if any is refused, "
        "none is sent and the problem lists each error with its `index`. Answers 202 once Kafka "
        "has acknowledged them all."
    ),
    responses=_PROBLEMS,
    openapi_extra=request_body("#/components/schemas/PublishBatchRequest"),
)
async def publish_batch(wiring: Wired, credential: Caller, document: Body) -> JSONResponse:
    maximum = wiring.settings.gateway_max_batch_events
    if not isinstance(document, list) or not document:
        raise _invalid(((None, FieldError(ROOT, "wrong_type", "must be a non-empty array")),))
    if len(document) > maximum:
        raise _invalid(((None, FieldError(ROOT, "too_long", f"must hold at most {maximum}")),))
    now = wiring.clock()
    events: list[Event] = []
    refusals: list[Problem] = []
    for index, item in enumerate(document):
        try:
            events.append(_read(item, credential, index, now))
        except Problem as refusal:
            refusals.append(refusal)
    if refusals:
        forbidden = [refusal for refusal in refusals if refusal.status == 403]
        errors = tuple(error for refusal in refusals for error in refusal.errors)
        raise (forbidden or refusals)[0].with_errors(errors)
    await _permit(wiring, credential, events, batch=True)
    await _send(wiring, events, credential)
    return JSONResponse({"ids": [event.id for event in events]}, status_code=202)


@router.post(
    "/v1/retractions",
    operation_id="retractClaim",
    status_code=202,
    response_model=Accepted,
    summary="Retract one of your earlier claims",
    description=(
        "Takes back an `attribute.verified` event you published, by its id; only the claim's "
        "own publisher can retract it. Answers 202 with the retraction's event id."
    ),
    responses=_PROBLEMS,
    openapi_extra=request_body("#/components/schemas/RetractionRequest"),
)
async def retract(wiring: Wired, credential: Caller, document: Body) -> JSONResponse:
    try:
        event = read_retraction(document, source=credential.source, now=wiring.clock())
    except EventRejected as rejected:
        raise _invalid(tuple((None, error) for error in rejected.errors)) from None
    await _permit(wiring, credential, [event], batch=False)
    await _send(wiring, [event], credential)
    return JSONResponse({"id": event.id}, status_code=202)


@router.get(
    "/health",
    operation_id="health",
    response_model=Health,
    summary="Whether the gateway can publish now",
    responses={503: _PROBLEMS[503]},
)
async def health(wiring: Wired) -> Any:
    if await wiring.publisher.reachable():
        return Health(status="ok", kafka="reachable")
    return _unavailable(wiring, "the gateway cannot reach Kafka").response()


# --- helpers -----------------------------------------------------------------------------------


async def _permit(
    wiring: Wiring, credential: PublisherCredential, events: list[Event], *, batch: bool
) -> None:
    """403 unless the registry gives the caller's source a role that allows every event."""
    if wiring.roles is None:
        return
    try:
        role = await wiring.roles.role_of(credential.source)
    except (KafkaError, OSError):
        raise _unavailable(wiring, "the publisher registry cannot be read: retry later") from None
    if role is None:
        _log.info("refused", reason="not_registered", source=credential.source, status=403)
        raise not_registered()
    refusals = [
        problem
        for index, event in enumerate(events)
        if (problem := wiring.roles.refusal(role, event, index if batch else None)) is not None
    ]
    if refusals:
        errors = tuple(error for problem in refusals for error in problem.errors)
        _log.info(
            "refused",
            reason=errors[0][1].rule,
            source=credential.source,
            role=role,
            status=403,
            count=len(errors),
        )
        raise refusals[0].with_errors(errors)


async def _send(wiring: Wiring, events: list[Event], credential: PublisherCredential) -> None:
    """Send validated events; return once Kafka has acknowledged them all, else 503."""
    try:
        if len(events) == 1:
            await wiring.publisher.publish(events[0], revalidate=False)
        else:
            await wiring.publisher.publish_many(events, revalidate=False)
    except PublishFailed:
        EVENTS.labels("unavailable").inc(len(events))
        _log.warning("kafka unavailable", source=credential.source, count=len(events))
        raise _unavailable(
            wiring, "not acknowledged: retry after the given seconds with the same event ids"
        ) from None
    EVENTS.labels("accepted").inc(len(events))
    _log.debug("accepted", source=credential.source, count=len(events))


def _read(document: Any, credential: PublisherCredential, index: int | None, now: Any) -> Event:
    """One event of the request, or the problem that refuses it."""
    try:
        return read_document(document, source=credential.source, now=now)
    except SourceMismatch as rejected:
        _log.info("refused", reason="source_mismatch", source=credential.source, status=403)
        raise Problem(
            403,
            "forbidden-source",
            "Not your source",
            "an event's source must be the source your API key is bound to",
            errors=tuple((index, error) for error in rejected.errors),
        ) from None
    except NotPublishable as rejected:
        raise Problem(
            403,
            "forbidden-type",
            "Type not publishable",
            "publishers may send only attribute, consent and subscription events",
            errors=tuple((index, error) for error in rejected.errors),
        ) from None
    except EventRejected as rejected:
        _log.info(
            "refused",
            reason="invalid_event",
            source=credential.source,
            status=422,
            count=len(rejected.errors),
        )
        raise _invalid(tuple((index, error) for error in rejected.errors)) from None


def _invalid(errors: tuple[Located, ...]) -> Problem:
    return Problem(
        422,
        "invalid-event",
        "Invalid event",
        "the event breaks the contract; each error names the field and the rule",
        errors=errors,
    )


def _unavailable(wiring: Wiring, detail: str) -> Problem:
    retry_after = str(wiring.settings.gateway_retry_after_seconds)
    return Problem(
        503,
        "kafka-unavailable",
        "Kafka is unavailable",
        detail,
        headers={"Retry-After": retry_after},
    )


async def _problem(_request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, Problem)
    REFUSALS.labels(error.slug).inc()
    return error.response()


async def _http_error(_request: Request, error: Exception) -> ProblemResponse:
    status = error.status_code if isinstance(error, HTTPException) else 500
    detail = str(error.detail) if isinstance(error, HTTPException) else "internal error"
    return Problem(status, "http", detail, detail).response()


async def _bad_request(_request: Request, _error: Exception) -> ProblemResponse:
    return Problem(400, "bad-request", "Bad request", "the request is not well formed").response()
