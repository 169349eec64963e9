"""Runs every scenario module inside Home Assistant's test harness, on simulated time."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from bench.rig import DAY_START, Context
from bench.scenarios import SCENARIOS, load, needs_bluetooth
from bench.session import BenchSession
from bench.settings import real_monotonic


async def _measure(name: str, ctx: Context, session: BenchSession) -> None:
    module = load(name)
    started = real_monotonic()
    try:
        figures = await module.run(ctx)
    except Exception as err:
        session.fail(name, tuple(module.PRODUCES), err)
        pytest.xfail(f"scenario failed: {type(err).__name__}: {err}")
    session.record(name, figures, real_monotonic() - started)


@pytest.mark.freeze_time(DAY_START)
@pytest.mark.parametrize("name", [name for name in SCENARIOS if not needs_bluetooth(name)])
async def test_scenario(
    name: str,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    bench_session: BenchSession,
) -> None:
    await _measure(name, Context(hass, freezer, bench_session.settings), bench_session)


@pytest.mark.freeze_time(DAY_START)
@pytest.mark.parametrize("name", [name for name in SCENARIOS if needs_bluetooth(name)])
async def test_bluetooth_scenario(
    name: str,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    socket_enabled: None,
    enable_bluetooth: None,
    bench_session: BenchSession,
) -> None:
    await _measure(name, Context(hass, freezer, bench_session.settings), bench_session)
