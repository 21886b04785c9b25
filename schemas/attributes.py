"""The attribute catalogue: closed, typed, strictly validated.

Each attribute has one value type: ``full_name`` a :class:`FullName`,
``date_of_birth`` a date, ``address`` an :class:`Address`, ``email`` and
``phone`` strings in a strict format, ``date_of_death`` a :class:`DateOfDeath`
(the registrar's record carries the date of birth, so a death before birth is
caught in the event itself). A National Insurance number is not an attribute:
it is never shared.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Final, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)

from schemas._rules import (
    bounded_date,
    bounded_instant,
    fail,
    iso_date_input,
    matcher,
    not_in_future_date,
    not_in_future_datetime,
    rfc3339_input,
)
from schemas.ids import GssCode


class AssuranceLevel(StrEnum):
    """How sure the publisher is (after GPG 45); levels compare by :attr:`rank`."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"

    @property
    def rank(self) -> int:
        """0 for ``low`` up to 3 for ``very_high``."""
        return _RANKS[self]

    def __lt__(self, other: object) -> bool:
        if isinstance(other, AssuranceLevel):
            return self.rank < other.rank
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, AssuranceLevel):
            return self.rank <= other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, AssuranceLevel):
            return self.rank > other.rank
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, AssuranceLevel):
            return self.rank >= other.rank
        return NotImplemented


_RANKS: Final = {level: rank for rank, level in enumerate(AssuranceLevel)}


class AttributeName(StrEnum):
    """The closed catalogue of attributes the hub carries."""

    FULL_NAME = "full_name"
    DATE_OF_BIRTH = "date_of_birth"
    ADDRESS = "address"
    EMAIL = "email"
    PHONE = "phone"
    DATE_OF_DEATH = "date_of_death"


# Strings and times --------------------------------------------------------------------------

_NO_CONTROL: Final = r"^[^\u0000-\u001f\u007f]*$"


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_CONTROL),
]
"""A name part: 1-200 characters, no control characters, surrounding spaces dropped."""

Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_CONTROL),
]
"""An address line or town: 1-100 characters, no control characters."""


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(rfc3339_input),
    AfterValidator(bounded_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with an offset within +-14:00, from 1900 to 2200 (UTC).",
        }
    ),
]
"""An instant with a time-zone offset (at most 14 hours either way) between 1900-01-01 and
2200-12-31 in UTC, given as an RFC 3339 string on the wire."""

PastTimestamp = Annotated[Timestamp, AfterValidator(not_in_future_datetime)]
"""An instant that is not in the future (five minutes of clock skew allowed)."""

PastDate = Annotated[
    dt.date,
    BeforeValidator(iso_date_input),
    AfterValidator(bounded_date),
    AfterValidator(not_in_future_date),
    WithJsonSchema(
        {"type": "string", "format": "date", "description": "From 1900-01-01, not in the future."}
    ),
]
"""A calendar date (``YYYY-MM-DD``) from 1900-01-01 that is not in the future."""

# Attribute values -----------------------------------------------------------------------------

POSTCODE_PATTERN: Final = (
    r"^(GIR 0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2})$"
)
UPRN_PATTERN: Final = r"^[1-9][0-9]{0,11}$"
PHONE_PATTERN: Final = r"^\+44[1-9][0-9]{9}$"
_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL: Final = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN: Final = rf"^{_ATOM}(\.{_ATOM})*@{_LABEL}(\.{_LABEL})+$"
_SPACES = re.compile(r"\s+")


def normalise_postcode(value: str) -> str:
    """Upper case, one space before the inward code: ``l1  8jq`` -> ``L1 8JQ``."""
    compact = _SPACES.sub("", value).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


Postcode = Annotated[
    str,
    AfterValidator(
        matcher(
            POSTCODE_PATTERN,
            "postcode_format",
            "must be a UK postcode such as L1 8JQ",
            normalise=normalise_postcode,
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": POSTCODE_PATTERN,
            "description": "A UK postcode in upper case with one space (the hub normalises input).",
        }
    ),
]
Uprn = Annotated[
    str,
    AfterValidator(matcher(UPRN_PATTERN, "uprn_format", "must be a UPRN of 1-12 digits")),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": UPRN_PATTERN,
            "description": "Unique Property Reference Number: 1-12 digits, no leading zero.",
        }
    ),
]
Email = Annotated[
    str,
    AfterValidator(matcher(EMAIL_PATTERN, "email_format", "must be an email address")),
    WithJsonSchema({"type": "string", "pattern": EMAIL_PATTERN, "maxLength": 254}),
    Field(max_length=254),
]
Phone = Annotated[
    str,
    AfterValidator(
        matcher(
            PHONE_PATTERN, "phone_format", "must be a UK number in E.164 form (+44 and 10 digits)"
        )
    ),
    WithJsonSchema({"type": "string", "pattern": PHONE_PATTERN, "description": "UK E.164."}),
]


class ValueModel(BaseModel):
    """Base of every value and event model: frozen, closed to unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FullName(ValueModel):
    """A resident's name as the publisher verified it."""

    given_names: Name
    family_name: Name


class Address(ValueModel):
    """A residential address, identified by UPRN and owned by one local authority."""

    uprn: Uprn
    lines: Annotated[list[Line], Field(min_length=1, max_length=4)]
    town: Line
    postcode: Postcode
    local_authority: GssCode


class DateOfDeath(ValueModel):
    """A registered death; ``date_of_birth`` is the registrar's record of the deceased's birth."""

    date: PastDate
    date_of_birth: PastDate | None = None

    @model_validator(mode="after")
    def _death_not_before_birth(self) -> Self:
        if self.date_of_birth is not None and self.date < self.date_of_birth:
            raise fail("death_before_birth", "must not be before the date of birth", "date")
        return self


AttributeValue = FullName | dt.date | Address | str | DateOfDeath
"""The Python type of any attribute value (email and phone are strings)."""

VALUE_TYPES: Final[dict[AttributeName, Any]] = {
    AttributeName.FULL_NAME: FullName,
    AttributeName.DATE_OF_BIRTH: PastDate,
    AttributeName.ADDRESS: Address,
    AttributeName.EMAIL: Email,
    AttributeName.PHONE: Phone,
    AttributeName.DATE_OF_DEATH: DateOfDeath,
}
"""The value type of each attribute."""

VALUE_ADAPTERS: Final[dict[AttributeName, TypeAdapter[Any]]] = {
    name: TypeAdapter(kind) for name, kind in VALUE_TYPES.items()
}
"""A validator per attribute, built once."""
