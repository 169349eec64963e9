"""Outages of every kind: what the Tesla cloud entities say, and the car staying usable."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.lock import LockState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import (
    CONF_ROUTE_PREFERENCE,
    CONF_SKIP_CLOUD_POLL,
    DATA_INTERVAL_ACTIVE,
)
from custom_components.tesla_resilient.health import Thresholds
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar
from tests.integration.common import Advance, entity_id, lock_doors, state_of
from tests.scenarios.conftest import set_up

pytestmark = pytest.mark.usefixtures("sim_clock")

CLOUD = "binary_sensor.tesla_cloud"
STATUS = "sensor.tesla_cloud_status"

DETECTION_S = Thresholds().heartbeat_interval + 20
"""An outage is noticed by the next heartbeat, a minute at most, and confirmed by two fast
probes (the scenarios' timeouts are milliseconds)."""


async def run_for(advance: Advance, seconds: float, step: float = 2.0) -> None:
    """Let time pass in steps, as the probe's fast interval does."""
    for _ in range(round(seconds / step)):
        await advance(step)


def cloud(hass: HomeAssistant) -> str:
    state = hass.states.get(CLOUD)
    assert state is not None
    return state.state


def status(hass: HomeAssistant) -> tuple[str, list[str], str | None]:
    state = hass.states.get(STATUS)
    assert state is not None
    return state.state, state.attributes["failing"], state.attributes["last_error"]


async def _until_bluetooth_fails(hass: HomeAssistant, advance: Advance) -> None:
    """Let Bluetooth polls run until one has failed to reach the car."""
    for _ in range(30):
        await advance(10)
        if state_of(hass, "binary_sensor", "bluetooth").state == "off":
            return
    raise AssertionError("Bluetooth never noticed the car had left")


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (FaultKind.REFUSED, "transport"),
        (FaultKind.SERVER_ERROR, "server_error"),
        pytest.param(FaultKind.BLACK_HOLE, "transport", marks=pytest.mark.freeze_time(tick=True)),
    ],
)
async def test_full_outage_keeps_the_car_usable(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
    fault: FaultKind,
    error: str,
) -> None:
    car.locked = False
    await set_up(hass, account_entry)
    assert cloud(hass) == "on"
    assert status(hass) == ("online", [], None)
    assert state_of(hass, "binary_sensor", "cloud_connection").state == "on"

    fleet_api.set_fault(fault)
    await run_for(advance, DETECTION_S)

    assert cloud(hass) == "off"
    assert status(hass) == ("outage", ["auth", "commands", "data"], error)
    assert state_of(hass, "binary_sensor", "cloud_connection").state == "off"
    assert state_of(hass, "sensor", "battery_level").state == str(car.battery_level)
    assert state_of(hass, "lock", "doors").state == "unlocked"

    await lock_doors(hass)

    assert car.executions["ble:door_lock"] == 1
    assert car.executions["cloud:door_lock"] == 0
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED


async def test_recovery_and_flapping(
    hass: HomeAssistant,
    advance: Advance,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    await set_up(hass, account_entry)
    changes: list[str] = []

    def changed(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None:
            changes.append(new.state)

    async_track_state_change_event(hass, CLOUD, changed)
    fleet_api.set_fault(FaultKind.REFUSED)
    await run_for(advance, DETECTION_S)
    since = hass.states.get(STATUS).attributes["since"]  # type: ignore[union-attr]

    for flap in range(40):
        if flap % 4 == 0:
            fleet_api.clear_fault()
        elif flap % 4 == 2:
            fleet_api.set_fault(FaultKind.REFUSED)
        await advance(2)
    assert changes == ["off"]
    assert status(hass)[0] == "outage"
    assert hass.states.get(STATUS).attributes["since"] == since  # type: ignore[union-attr]

    fleet_api.clear_fault()
    await run_for(advance, 60)

    assert changes == ["off", "on"]
    assert status(hass)[:2] == ("online", [])
    assert state_of(hass, "binary_sensor", "cloud_connection").state == "on"


async def test_data_only_outage_is_degraded(
    hass: HomeAssistant,
    advance: Advance,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    await set_up(hass, account_entry)
    fleet_api.set_fault(FaultKind.DATA_ONLY)
    await run_for(advance, 180, step=60)

    assert status(hass) == ("degraded", ["data"], "server_error")
    assert cloud(hass) == "on"
    assert state_of(hass, "binary_sensor", "cloud_connection").state == "off"


async def test_commands_only_outage_is_degraded(
    hass: HomeAssistant,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    hass.config_entries.async_update_entry(
        account_entry, options={CONF_ROUTE_PREFERENCE: "cloud_only", CONF_SKIP_CLOUD_POLL: True}
    )
    await set_up(hass, account_entry)
    fleet_api.set_fault(FaultKind.COMMANDS_ONLY)
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as raised:
            await lock_doors(hass)
        assert raised.value.translation_key == "command_unconfirmed"

    assert status(hass) == ("degraded", ["commands"], "server_error")
    assert car.executions["door_lock"] == 0


async def test_stale_data_is_degraded(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    hass.config_entries.async_update_entry(account_entry, options={CONF_SKIP_CLOUD_POLL: False})
    car.user_present = True
    await set_up(hass, account_entry)
    fleet_api.set_fault(FaultKind.STALE_DATA)
    await run_for(advance, DATA_INTERVAL_ACTIVE.total_seconds() + 120, step=60)

    assert status(hass)[:2] == ("degraded", ["data"])
    assert state_of(hass, "binary_sensor", "cloud_connection").state == "off"


async def test_sleep_rate_limits_are_no_outage(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    hass.config_entries.async_update_entry(account_entry, options={CONF_SKIP_CLOUD_POLL: False})
    await set_up(hass, account_entry)
    car.sleep_now()
    await run_for(advance, 300, step=60)
    assert status(hass)[:2] == ("online", [])

    fleet_api.set_fault(FaultKind.RATE_LIMITED, retry_after_s=120)
    await run_for(advance, 120, step=60)
    assert status(hass)[:2] == ("rate_limited", [])
    assert cloud(hass) == "on"

    fleet_api.clear_fault()
    await run_for(advance, 300, step=60)
    assert status(hass)[:2] == ("online", [])


@pytest.mark.freeze_time(tick=True)
async def test_command_that_may_have_run_is_not_repeated(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    ble_proxy: SimulatedBluetoothProxy,
    account_entry: MockConfigEntry,
) -> None:
    """The car is out of Bluetooth range, so commands go to a cloud that runs them but never
    answers: a horn press is not repeated, a lock is retried over Bluetooth once the car is back.
    """
    car.locked = False
    await set_up(hass, account_entry)
    ble_proxy.in_range = False
    await _until_bluetooth_fails(hass, advance)
    # A first cloud command: the car's session for the horn's domain is known from then on.
    await hass.services.async_call(
        BUTTON_DOMAIN,
        SERVICE_PRESS,
        {ATTR_ENTITY_ID: entity_id(hass, "button", "flash_lights")},
        blocking=True,
    )
    fleet_api.set_fault(FaultKind.COMMAND_TIMEOUT_AFTER_EXECUTE)
    with (
        patch("custom_components.tesla_resilient.cloud.REQUEST_TIMEOUT", 0.25),
        pytest.raises(HomeAssistantError) as raised,
    ):
        await hass.services.async_call(
            BUTTON_DOMAIN,
            SERVICE_PRESS,
            {ATTR_ENTITY_ID: entity_id(hass, "button", "honk")},
            blocking=True,
        )
    assert raised.value.translation_key == "command_unconfirmed"
    assert car.executions["honk_horn"] == 1
    assert car.executions["ble:honk_horn"] == 0
    last = state_of(hass, "sensor", "last_command_route")
    assert (last.state, last.attributes["confirmed"]) == ("cloud", False)

    def back_in_range_as_the_cloud_runs_it() -> None:
        if car.locked:
            ble_proxy.in_range = True

    car.listeners.append(back_in_range_as_the_cloud_runs_it)
    with patch("custom_components.tesla_resilient.cloud.REQUEST_TIMEOUT", 0.25):
        await lock_doors(hass)

    assert car.executions["cloud:door_lock"] == 1
    assert car.executions["ble:door_lock"] == 1
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED
    last = state_of(hass, "sensor", "last_command_route")
    assert (last.state, last.attributes["confirmed"]) == ("bluetooth", True)


@pytest.mark.freeze_time(tick=True)
async def test_a_car_back_in_range_is_commanded_over_bluetooth_at_once(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    ble_proxy: SimulatedBluetoothProxy,
    account_entry: MockConfigEntry,
) -> None:
    """Heard again after Bluetooth failed, the car gets the next command over Bluetooth first,
    without waiting for a silent cloud or for the next Bluetooth poll."""
    car.locked = False
    await set_up(hass, account_entry)
    ble_proxy.in_range = False
    await _until_bluetooth_fails(hass, advance)
    fleet_api.set_fault(FaultKind.BLACK_HOLE)
    ble_proxy.in_range = True
    requests = len(fleet_api.requests)

    await lock_doors(hass)

    assert car.executions["ble:door_lock"] == 1
    assert car.executions["cloud:door_lock"] == 0
    assert not [r for r in fleet_api.requests[requests:] if "/command/" in r.path]
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED
