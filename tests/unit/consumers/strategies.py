"""Hypothesis strategies for deliveries to one authority about one resident (or, with
:func:`mixed_deliveries`, two residents sharing two references).

Versions are unique per delivery (the hub numbers its decisions for a resident
and authority in order); attributes are few so that updates, clears and consent
endings collide often.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from consumers._apply import Delivery, Ending, Update

REFERENCE = "LCC-CT-10045821"
SUBJECT = "9d2f6b1a-3e4c-5a7b-8c9d-0e1f2a3b4c5d"
ATTRS = ("address", "email", "phone")
REFERENCES = (REFERENCE, "LCC-CT-20000002")
SUBJECTS = (SUBJECT, "2c7e1f0a-5b6d-4e8f-9a0b-1c2d3e4f5a6b")


def _update(version: int, attribute: str, value: str | None) -> Update:
    return Update(
        event_id=f"dec-{version}",
        subject=SUBJECT,
        decision_id=f"dec-{version}",
        version=version,
        local_reference=REFERENCE,
        attribute=attribute,
        value_json=value,
        provenance=None,
    )


def _ending(version: int, attributes: tuple[str, ...]) -> Ending:
    return Ending(
        event_id=f"dec-{version}",
        subject=SUBJECT,
        decision_id=f"dec-{version}",
        version=version,
        local_reference=REFERENCE,
        attributes=attributes,
        reason="withdrawn",
    )


@st.composite
def deliveries(draw: st.DrawFn, max_size: int = 12) -> list[Delivery]:
    """Deliveries in the order the hub decided them (versions 1, 2, 3, ...)."""
    count = draw(st.integers(min_value=0, max_value=max_size))
    made: list[Delivery] = []
    for version in range(1, count + 1):
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            chosen = draw(st.sets(st.sampled_from(ATTRS), min_size=1))
            made.append(_ending(version, tuple(sorted(chosen))))
        else:
            value = draw(st.one_of(st.none(), st.sampled_from(['"a"', '"b"', '"c"'])))
            made.append(_update(version, draw(st.sampled_from(ATTRS)), value))
    return made


@st.composite
def mixed_deliveries(draw: st.DrawFn, max_size: int = 14) -> list[Delivery]:
    """Deliveries in the order decided, each under one of two references for one of two
    residents: a reference is bound by its first update, and the other resident's deliveries
    under it are conflicts."""
    made: list[Delivery] = []
    for delivery in draw(deliveries(max_size)):
        reference = draw(st.sampled_from(REFERENCES))
        subject = draw(st.sampled_from(SUBJECTS))
        made.append(replace(delivery, local_reference=reference, subject=subject))
    return made


@st.composite
def shuffled_with_repeats(draw: st.DrawFn, items: list[Delivery]) -> list[Delivery]:
    """The same deliveries in any order, some of them more than once."""
    repeats = draw(st.lists(st.sampled_from(items), max_size=len(items))) if items else []
    return draw(st.permutations([*items, *repeats]))
