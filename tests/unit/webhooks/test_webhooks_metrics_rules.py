"""The webhook process's metric labels and readiness, without any network."""

from __future__ import annotations

import pytest

from consumers.webhooks._metrics import relay_health, status_result


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (200, "2xx"),
        (204, "2xx"),
        (301, "3xx"),
        (410, "4xx"),
        (408, "4xx"),
        (429, "429"),
        (500, "5xx"),
        (503, "5xx"),
    ],
)
def test_an_answered_post_is_labelled_by_its_status_class_and_429_on_its_own(
    status: int, result: str
) -> None:
    """The ``result`` label is the status class, except 429 (throttling), which stands alone;
    it never carries more than the class, so the label set stays small."""
    assert status_result(status) == result


def test_the_relay_is_ready_only_once_endpoint_producing_and_joined_hold() -> None:
    """A new relay's health names all three conditions unmet, and is ready only with all."""
    health = relay_health()
    assert health.unmet() == ["endpoint", "joined", "producing"]
    health.met("endpoint")
    health.met("producing")
    assert health.unmet() == ["joined"]
    health.met("joined")
    assert health.unmet() == []
