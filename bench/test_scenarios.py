"""Runs every scenario module inside Home Assistant's test harness, on simulated time."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from bench.days import DayRecord, variant_id
from bench.figures import Figure
from bench.rig import DAY_START, Context
from bench.scenarios import SCENARIOS, load, needs_bluetooth, variants
from bench.session import BenchSession
from bench.settings import real_monotonic


def _cases(bluetooth: bool) -> list[Any]:
    return [
        pytest.param(
            name, variant, id=name if variant is None else f"{name}[{variant_id(variant)}]"
        )
        for name in SCENARIOS
        if needs_bluetooth(name) is bluetooth
        for variant in variants(name)
    ]


def _label(name: str, variant: Any) -> str:
    return name if variant is None else f"{name}[{variant_id(variant)}]"


async def _measure(name: str, variant: Any, ctx: Context, session: BenchSession) -> None:
    module = load(name)
    label = _label(name, variant)
    started = real_monotonic()
    try:
        measured = await (module.run(ctx) if variant is None else module.run(ctx, variant))
    except Exception as err:
        session.fail(label, tuple(module.PRODUCES), err)
        pytest.xfail(f"scenario failed: {type(err).__name__}: {err}")
    figures = [item for item in measured if isinstance(item, Figure)]
    days = [item for item in measured if isinstance(item, DayRecord)]
    session.record(label, figures, real_monotonic() - started, days)


@pytest.mark.freeze_time(DAY_START)
@pytest.mark.parametrize(("name", "variant"), _cases(bluetooth=False))
async def test_scenario(
    name: str,
    variant: Any,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    bench_session: BenchSession,
) -> None:
    await _measure(name, variant, Context(hass, freezer, bench_session.settings), bench_session)


@pytest.mark.freeze_time(DAY_START)
@pytest.mark.parametrize(("name", "variant"), _cases(bluetooth=True))
async def test_bluetooth_scenario(
    name: str,
    variant: Any,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    enable_bluetooth: None,
    bench_session: BenchSession,
) -> None:
    await _measure(name, variant, Context(hass, freezer, bench_session.settings), bench_session)
