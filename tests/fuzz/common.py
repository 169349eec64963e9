"""What every property test here shares: settings that make a run repeatable."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def fuzz_settings(max_examples: int) -> settings:
    """Settings for one property: a fixed seed (CI never meets an example a developer did not),
    no example database, no per-example deadline (the event loop's first run is slow).
    """
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
