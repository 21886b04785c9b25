"""Hypothesis strategies for deliveries to one authority about one resident.

Versions are unique per delivery (the hub numbers its decisions for a resident
and authority in order); attributes are few so that updates, clears and consent
endings collide often.
"""

from __future__ import annotations

from hypothesis import strategies as st

from consumers._apply import Delivery, Ending, Update

REFERENCE = "LCC-CT-10045821"
SUBJECT = "9d2f6b1a-3e4c-5a7b-8c9d-0e1f2a3b4c5d"
ATTRS = ("address", "email", "phone")


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
def shuffled_with_repeats(draw: st.DrawFn, items: list[Delivery]) -> list[Delivery]:
    """The same deliveries in any order, some of them more than once."""
    repeats = draw(st.lists(st.sampled_from(items), max_size=len(items))) if items else []
    return draw(st.permutations([*items, *repeats]))
