"""The pull feed's routes: an authority reads its deliveries and acknowledges what it applied.

``GET /v1/deliveries?after=<cursor>&limit=<n>`` and ``POST /v1/acknowledgements``,
both with the authority's own feed key (``rps feed add AUTHORITY``) as
``Authorization: Bearer``. The key decides whose deliveries are read, so an
authority can only ever read its own; a publisher's key is not a feed key.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from producers.feed_keys import FeedKey, FeedKeyStore
from producers.gateway.dependencies import Body
from producers.gateway.feed import Applied as AppliedDelivery
from producers.gateway.feed import BadCursor, Feed, FeedUnavailable
from producers.gateway.problems import Problem
from rps.logs import get_logger
from schemas import FieldError
from schemas._envelope import LocalReference
from schemas._errors import field_errors
from schemas.ids import EventId, Pseudonym

_log = get_logger("producers.gateway")

MAX_PAGE: Final = 1000
MAX_ACKNOWLEDGEMENTS: Final = 1000

router = APIRouter(tags=["pull feed"])
_bearer = HTTPBearer(
    auto_error=False, scheme_name="FeedKey", description="The authority's feed key (rps feed add)."
)


class FeedWiring:
    """What the feed routes need: the feed itself and the authorities' keys."""

    def __init__(self, feed: Feed, keys: FeedKeyStore) -> None:
        self.feed = feed
        self.keys = keys


async def _wiring(request: Request) -> FeedWiring:
    wiring: FeedWiring | None = getattr(request.app.state, "feed", None)
    if wiring is None:
        raise Problem(404, "no-feed", "No pull feed", "this gateway does not serve the pull feed")
    return wiring


FeedWired = Annotated[FeedWiring, Depends(_wiring)]


async def _authority(
    wiring: FeedWired,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> FeedKey:
    key = None
    if authorization is not None and authorization.scheme.lower() == "bearer":
        key = await wiring.keys.authenticate(authorization.credentials)
    if key is None:
        _log.info("refused", reason="unauthenticated", status=401)
        raise Problem(
            401,
            "unauthenticated",
            "Unknown or revoked feed key",
            "send your authority's feed key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key


Authority = Annotated[FeedKey, Depends(_authority)]


class DeliveryPage(BaseModel):
    """The deliveries after the cursor, and the cursor to ask with next time."""

    deliveries: list[dict[str, Any]] = Field(
        description="CloudEvents in structured mode, each `uk.gov.rps.profile.updated.v1` or "
        "`uk.gov.rps.consent.ended.v1` (on `consent.ended`, stop using the attributes and "
        "delete them per your retention policy). Apply each by `data.decision_id` and "
        "`data.version`: a delivery may come again."
    )
    next: str = Field(description="The opaque cursor to send as `after` for the next page.")
    more: bool = Field(description="More deliveries are waiting now: ask again at once.")
    gap: bool = Field(
        description="Some deliveries after your cursor expired before you read them (the hub "
        "keeps them for its retention period, 30 days by default): ask the hub's operator "
        "for a full resend."
    )


class Applied(BaseModel):
    """One delivery the authority has applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision_id: EventId
    subject: Pseudonym
    local_reference: LocalReference


class AcknowledgementRequest(BaseModel):
    """The deliveries applied, each sent on to the hub as `delivery.applied`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    acknowledgements: list[Applied] = Field(min_length=1, max_length=MAX_ACKNOWLEDGEMENTS)


class Acknowledged(BaseModel):
    """Kafka has every acknowledgement."""

    count: int


_PROBLEM: Final[dict[str, Any]] = {"content": {"application/problem+json": {}}}


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its nested models written in place (no ``$defs``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


@router.get(
    "/v1/deliveries",
    operation_id="readDeliveries",
    response_model=DeliveryPage,
    summary="Read your deliveries after a cursor",
    description=(
        "Your authority's deliveries, oldest first, each resident's in order. Start without "
        "`after`; then send the `next` cursor of the page before. The cursor is opaque and "
        "stays valid across gateway restarts. A page is empty when nothing new has come."
    ),
    responses={
        400: {**_PROBLEM, "description": "The cursor is not one the gateway issued."},
        401: {**_PROBLEM, "description": "Unknown or revoked feed key."},
        503: {**_PROBLEM, "description": "Kafka is unavailable: retry after `Retry-After`."},
    },
)
async def read_deliveries(
    wiring: FeedWired,
    key: Authority,
    after: Annotated[str | None, Query(max_length=8192, description="The cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many.")] = 100,
) -> DeliveryPage:
    try:
        page = await wiring.feed.read(key.authority, after, limit)
    except BadCursor:
        raise Problem(
            400, "bad-cursor", "Unknown cursor", "send `after` exactly as a page gave it"
        ) from None
    except FeedUnavailable:
        raise _unavailable() from None
    _log.info("feed read", authority=key.authority, count=len(page.deliveries))
    return DeliveryPage(deliveries=page.deliveries, next=page.next, more=page.more, gap=page.gap)


@router.post(
    "/v1/acknowledgements",
    operation_id="acknowledgeDeliveries",
    status_code=202,
    response_model=Acknowledged,
    summary="Acknowledge the deliveries you applied",
    description=(
        "Each entry becomes `uk.gov.rps.delivery.applied.v1` from your authority, exactly as "
        "the reference subscriber sends it; acknowledging one twice counts once. Answers 202 "
        "once Kafka has them all."
    ),
    responses={
        401: {**_PROBLEM, "description": "Unknown or revoked feed key."},
        422: {**_PROBLEM, "description": "An entry breaks a rule (field and rule named)."},
        503: {**_PROBLEM, "description": "Kafka is unavailable: retry after `Retry-After`."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(AcknowledgementRequest)}},
        }
    },
)
async def acknowledge(wiring: FeedWired, key: Authority, document: Body) -> Acknowledged:
    try:
        request = AcknowledgementRequest.model_validate(document)
    except ValidationError as error:
        raise Problem(
            422,
            "invalid-acknowledgement",
            "Invalid acknowledgement",
            "each error names the field and the rule",
            errors=tuple((None, e) for e in _fields(error)),
        ) from None
    applied = [
        AppliedDelivery(a.decision_id, a.subject, a.local_reference)
        for a in request.acknowledgements
    ]
    try:
        await wiring.feed.acknowledge(key.authority, applied)
    except FeedUnavailable:
        raise _unavailable() from None
    _log.info("feed acknowledged", authority=key.authority, count=len(applied))
    return Acknowledged(count=len(applied))


def _fields(error: ValidationError) -> list[FieldError]:
    return list(field_errors(error))


def _unavailable() -> Problem:
    return Problem(
        503,
        "kafka-unavailable",
        "Kafka is unavailable",
        "retry after the given seconds",
        headers={"Retry-After": "5"},
    )
