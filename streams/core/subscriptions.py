"""Who subscribes to what: the directory every worker holds, folded from subscription changes.

Each (authority, attribute) is a last-writer-wins register on
``(issued_at, event id)``, so the directory is the same whatever order the
changes arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from streams.core.facts import SubscriptionChange


@dataclass(frozen=True, slots=True)
class Directory:
    """The latest subscription change per (authority, attribute)."""

    rules: Mapping[tuple[str, str], SubscriptionChange] = field(default_factory=dict)
    by_attribute: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Derived index: attribute -> {authority: minimum level} for active rules."""

    def minimum_level(self, authority: str, attribute: str) -> int | None:
        """The level the authority asks for, or None when it does not subscribe."""
        rule = self.rules.get((authority, attribute))
        return rule.minimum_level if rule is not None and rule.active else None

    def subscribers(self, attribute: str) -> dict[str, int]:
        """Every authority that subscribes to the attribute, with its minimum level."""
        return dict(self.by_attribute.get(attribute, {}))

    def authorities(self) -> frozenset[str]:
        """Every authority with an active subscription."""
        return frozenset(a for (a, _), rule in self.rules.items() if rule.active)


def apply(directory: Directory, change: SubscriptionChange) -> Directory:
    """The directory after one more change (older changes for the same key lose)."""
    key = (change.authority, change.attribute)
    current = directory.rules.get(key)
    if current is not None and current.stamp >= change.stamp:
        return directory
    by_attribute = {name: dict(levels) for name, levels in directory.by_attribute.items()}
    levels = by_attribute.setdefault(change.attribute, {})
    if change.active:
        levels[change.authority] = change.minimum_level
    else:
        levels.pop(change.authority, None)
    return Directory({**directory.rules, key: change}, by_attribute)


def apply_all(
    changes: Iterable[SubscriptionChange], directory: Directory | None = None
) -> Directory:
    """Fold many changes."""
    result = directory or Directory()
    for change in changes:
        result = apply(result, change)
    return result
