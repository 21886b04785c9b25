"""The subscriber's apply rules reach the newest decision per key, whatever the arrival order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consumers._apply import (
    Delivery,
    Ending,
    KeyAction,
    Outcome,
    Update,
    ending_outcome,
    judge_ending,
    judge_update,
)
from tests.unit.consumers.strategies import _ending, _update, deliveries, shuffled_with_repeats

Held = dict[str, tuple[int, str]]


def _fold(items: list[Delivery]) -> Held:
    """Apply deliveries the way the store does, with dictionaries for tables."""
    held: Held = {}
    removed: dict[str, int] = {}
    seen: set[str] = set()
    for item in items:
        if item.decision_id in seen:
            continue
        seen.add(item.decision_id)
        if isinstance(item, Update):
            current = held.get(item.attribute)
            outcome = judge_update(
                current[0] if current else None, removed.get(item.attribute), item
            )
            if outcome is Outcome.APPLIED and item.value_json is not None:
                held[item.attribute] = (item.version, item.value_json)
                removed.pop(item.attribute, None)
            elif outcome is Outcome.CLEARED:
                held.pop(item.attribute, None)
                removed[item.attribute] = max(removed.get(item.attribute, 0), item.version)
        else:
            for attribute in item.attributes:
                current = held.get(attribute)
                if judge_ending(current[0] if current else None, item) is KeyAction.REMOVE:
                    del held[attribute]
                removed[attribute] = max(removed.get(attribute, 0), item.version)
    return held


def _newest(items: list[Delivery]) -> dict[str, str]:
    """What should stand: per attribute, the value of the newest delivery touching it, if any."""
    newest: dict[str, Delivery] = {}
    for item in items:
        names = (item.attribute,) if isinstance(item, Update) else item.attributes
        for name in names:
            if name not in newest or newest[name].version < item.version:
                newest[name] = item
    return {
        name: item.value_json
        for name, item in newest.items()
        if isinstance(item, Update) and item.value_json is not None
    }


@given(st.data(), deliveries())
def test_any_order_and_any_repetition_reach_the_newest_decision(
    data: st.DataObject, items: list[Delivery]
) -> None:
    """Shuffled and redelivered deliveries leave, per attribute, the newest decision's value."""
    arrived = data.draw(shuffled_with_repeats(items))
    held = {name: value for name, (_, value) in _fold(arrived).items()}
    assert held == _newest(items)


def test_an_older_update_after_a_consent_ending_does_not_resurrect_the_value() -> None:
    """A version-2 update arriving after the version-3 consent ending is stale."""
    assert judge_update(None, 3, _update(2, "address", '"x"')) is Outcome.STALE


def test_a_redelivered_update_is_stale_against_itself() -> None:
    """The same version again changes nothing."""
    assert judge_update(4, None, _update(4, "address", '"x"')) is Outcome.STALE


def test_an_update_with_no_value_clears() -> None:
    """``value: null`` removes the held value rather than storing a null."""
    assert judge_update(1, None, _update(2, "email", None)) is Outcome.CLEARED


def test_a_consent_ending_keeps_a_value_set_by_a_newer_decision() -> None:
    """An ending at version 3 leaves a value held at version 5 in place."""
    ending: Ending = _ending(3, ("address",))
    assert judge_ending(5, ending) is KeyAction.KEEP
    assert judge_ending(2, ending) is KeyAction.REMOVE
    assert judge_ending(None, ending) is KeyAction.NONE


def test_the_ending_outcome_names_what_happened() -> None:
    """History says deleted, retained, or ended (nothing held) for a consent ending."""
    assert ending_outcome([KeyAction.REMOVE, KeyAction.NONE], retain=False) is Outcome.DELETED
    assert ending_outcome([KeyAction.REMOVE], retain=True) is Outcome.RETAINED
    assert ending_outcome([KeyAction.KEEP, KeyAction.NONE], retain=False) is Outcome.ENDED
