"""The costs of verification and sealing are read off medians of interleaved rounds."""

from __future__ import annotations

from typing import Any

from tests.perf.costs import AS_CONFIGURED, WITHOUT_SEALING, WITHOUT_VERIFICATION, paid


def _runs(headline: float, *rounds: tuple[float, float, float]) -> list[dict[str, Any]]:
    """The headline's run, then each round's runs as configured, without verification and
    without sealing, with the given CPU per event."""
    runs: list[dict[str, Any]] = [{"name": AS_CONFIGURED, "worker_cpu_us_per_event": headline}]
    for n, cpus in enumerate(rounds, start=1):
        names = (AS_CONFIGURED, WITHOUT_VERIFICATION, WITHOUT_SEALING)
        runs += [
            {"name": name, "worker_cpu_us_per_event": cpu, "round": n}
            for name, cpu in zip(names, cpus, strict=True)
        ]
    return runs


def test_one_slow_run_does_not_move_a_cost() -> None:
    """The slow headline and one slow run without sealing (the host's drift) are left out of
    the medians, so sealing does not come out as costing less than nothing."""
    costs = paid(
        _runs(
            1_900.0,
            (1_400.0, 1_200.0, 1_780.0),
            (1_420.0, 1_190.0, 1_350.0),
            (1_380.0, 1_230.0, 1_330.0),
        )
    )
    assert costs["as_configured_cpu_us_per_event"] == 1_400.0
    assert costs["verification_off_cpu_us_per_event"] == 1_200.0
    assert costs["profile_sealing_off_cpu_us_per_event"] == 1_350.0
    assert costs["verification_cpu_us_per_event"] == 200.0
    assert costs["profile_sealing_cpu_us_per_event"] == 50.0


def test_two_rounds_take_the_mean_of_each_pair() -> None:
    costs = paid(_runs(1_000.0, (1_400.0, 1_100.0, 1_300.0), (1_500.0, 1_200.0, 1_350.0)))
    assert costs["as_configured_cpu_us_per_event"] == 1_450.0
    assert costs["verification_cpu_us_per_event"] == 300.0
    assert costs["profile_sealing_cpu_us_per_event"] == 125.0
