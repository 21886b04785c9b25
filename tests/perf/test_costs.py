"""The costs of verification and sealing are read off medians of interleaved rounds."""

from __future__ import annotations

from typing import Any

from tests.perf.costs import AS_CONFIGURED, WITHOUT_SEALING, WITHOUT_VERIFICATION, paid


def _run(name: str, cpu: float, round_: int | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"name": name, "worker_cpu_us_per_event": cpu}
    if round_ is not None:
        run["round"] = round_
    return run


def test_one_slow_run_does_not_move_a_cost() -> None:
    """The slow headline and one slow run without sealing (the host's drift) are left out of
    the medians, so sealing does not come out as costing less than nothing."""
    runs = [
        _run(AS_CONFIGURED, 1_900.0),  # the headline
        _run(AS_CONFIGURED, 1_400.0, 1),
        _run(WITHOUT_VERIFICATION, 1_200.0, 1),
        _run(WITHOUT_SEALING, 1_780.0, 1),
        _run(AS_CONFIGURED, 1_420.0, 2),
        _run(WITHOUT_VERIFICATION, 1_190.0, 2),
        _run(WITHOUT_SEALING, 1_350.0, 2),
        _run(AS_CONFIGURED, 1_380.0, 3),
        _run(WITHOUT_VERIFICATION, 1_230.0, 3),
        _run(WITHOUT_SEALING, 1_330.0, 3),
    ]
    costs = paid(runs)
    assert costs["as_configured_cpu_us_per_event"] == 1_400.0
    assert costs["verification_off_cpu_us_per_event"] == 1_200.0
    assert costs["profile_sealing_off_cpu_us_per_event"] == 1_350.0
    assert costs["verification_cpu_us_per_event"] == 200.0
    assert costs["profile_sealing_cpu_us_per_event"] == 50.0


def test_two_rounds_take_the_mean_of_each_pair() -> None:
    runs = [
        _run(AS_CONFIGURED, 1_000.0),
        _run(AS_CONFIGURED, 1_400.0, 1),
        _run(WITHOUT_VERIFICATION, 1_100.0, 1),
        _run(WITHOUT_SEALING, 1_300.0, 1),
        _run(AS_CONFIGURED, 1_500.0, 2),
        _run(WITHOUT_VERIFICATION, 1_200.0, 2),
        _run(WITHOUT_SEALING, 1_350.0, 2),
    ]
    costs = paid(runs)
    assert costs["as_configured_cpu_us_per_event"] == 1_450.0
    assert costs["verification_cpu_us_per_event"] == 300.0
    assert costs["profile_sealing_cpu_us_per_event"] == 125.0
