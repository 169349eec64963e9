"""The account's one heartbeat: the free state call while healthy, /status once something failed."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.fleet_api import FaultKind, FleetApiSimulator

from .common import VIN, Advance

STATE_PATH = f"/api/1/vehicles/{VIN}"
PROBE_PATH = "/status"
CLOUD = "binary_sensor.tesla_cloud"


def sent(sim: FleetApiSimulator, path: str, since: int) -> int:
    """How many requests to `path` the cloud received after the first `since`."""
    return sum(1 for record in sim.requests[since:] if record.path == path)


def cloud(hass: HomeAssistant) -> str:
    state = hass.states.get(CLOUD)
    assert state is not None
    return state.state


async def until(hass: HomeAssistant, advance: Advance, wanted: str, limit_s: float) -> float:
    """Simulated seconds, in 1 s steps, until the cloud entity shows `wanted`."""
    waited = 0.0
    while cloud(hass) != wanted:
        assert waited < limit_s, f"{CLOUD} not {wanted} after {limit_s:g} s"
        await advance(1)
        waited += 1
    return waited


async def test_a_healthy_account_sends_one_state_call_a_minute_and_no_probe(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
) -> None:
    since = len(fleet_api.requests)
    for _ in range(60):
        await advance(60)

    assert 58 <= sent(fleet_api, STATE_PATH, since) <= 61
    assert sent(fleet_api, PROBE_PATH, since) == 0
    assert len(fleet_api.requests) - since <= 1_500 / 24


async def test_one_failed_heartbeat_brings_one_fast_probe_then_the_heartbeat_again(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
) -> None:
    since = len(fleet_api.requests)
    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    while sent(fleet_api, STATE_PATH, since) == 0:
        await advance(1)
    fleet_api.clear_fault()
    failed = len(fleet_api.requests)
    for _ in range(5):
        await advance(1)
    assert sent(fleet_api, PROBE_PATH, failed) == 1

    probed = len(fleet_api.requests)
    for _ in range(300):
        await advance(1)
    assert sent(fleet_api, PROBE_PATH, probed) == 0
    assert 4 <= sent(fleet_api, STATE_PATH, probed) <= 6
    assert cloud(hass) == "on"


async def test_an_outage_is_probed_fast_and_the_heartbeat_resumes_after_recovery(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
) -> None:
    await advance(30)
    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    assert await until(hass, advance, "off", 75) <= 75

    during = len(fleet_api.requests)
    for _ in range(60):
        await advance(1)
    # probes every 2 s; the test harness fires due timers at the whole seconds it advances to
    assert sent(fleet_api, STATE_PATH, during) == 0
    assert 20 <= sent(fleet_api, PROBE_PATH, during) <= 60

    fleet_api.clear_fault()
    assert await until(hass, advance, "on", 90) <= 90

    back = len(fleet_api.requests)
    for _ in range(300):
        await advance(1)
    assert sent(fleet_api, PROBE_PATH, back) == 0
    assert 4 <= sent(fleet_api, STATE_PATH, back) <= 6
    assert cloud(hass) == "on"
