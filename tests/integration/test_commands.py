"""The command path: waking the car, and every way a command can fail, as the user sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import DOMAIN
from custom_components.tesla_resilient.router import Route, RoutePreference
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar

from .common import VIN, Advance, entity_id, requests_to, state_of

pytestmark = pytest.mark.usefixtures("loaded_entry")


@pytest.fixture
def short_timeout() -> Iterator[None]:
    with patch("custom_components.tesla_resilient.cloud.REQUEST_TIMEOUT", 0.05):
        yield


async def unlock(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "lock", "unlock", {ATTR_ENTITY_ID: entity_id(hass, "lock", "doors")}, blocking=True
    )


async def press(hass: HomeAssistant, key: str) -> None:
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: entity_id(hass, "button", key)}, blocking=True
    )


async def test_command_wakes_a_car_that_fell_asleep(
    hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    car.sleep_now()
    await unlock(hass)

    assert car.locked is False
    assert car.wakes == {"cloud": 1}
    assert car.executions["door_unlock"] == 1
    assert requests_to(fleet_api, "/command/door_unlock") == 0
    assert fleet_api.ble_car(VIN).cloud_handshakes == 1
    assert state_of(hass, "binary_sensor", "asleep").state == "off"


async def test_command_to_a_car_known_asleep_wakes_it_first(
    hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator, car_asleep: None
) -> None:
    assert state_of(hass, "binary_sensor", "asleep").state == "on"

    await unlock(hass)
    assert car.locked is False
    assert car.wakes == {"cloud": 1}
    assert car.executions["door_unlock"] == 1
    assert requests_to(fleet_api, "/signed_command") == 2  # session info, then the command


async def test_car_that_does_not_wake(
    hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    car.wake_duration_s = 10_000
    car.sleep_now()
    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == "vehicle_asleep"
    assert car.locked is True
    assert car.wakes == {"cloud": 1}


async def test_rejected_command(hass: HomeAssistant, car: VirtualCar) -> None:
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "cover",
            "close_cover",
            {ATTR_ENTITY_ID: entity_id(hass, "cover", "charge_port")},
            blocking=True,
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "command_rejected"
    # The security controller answers a refused closure with a generic error, not a text.
    assert err.value.translation_placeholders["reason"] == "GENERICERROR_UNKNOWN"
    assert car.charge_port_door_open is True
    assert state_of(hass, "cover", "charge_port").state == "open"


async def lock(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "lock", "lock", {ATTR_ENTITY_ID: entity_id(hass, "lock", "doors")}, blocking=True
    )


async def flash(hass: HomeAssistant) -> None:
    await press(hass, "flash_lights")


async def honk(hass: HomeAssistant) -> None:
    """Press the honk button."""
    await press(hass, "honk")


@pytest.mark.usefixtures("short_timeout")
@pytest.mark.freeze_time(tick=True)
@pytest.mark.parametrize(
    ("fault", "opener", "send", "on_car"),
    [
        pytest.param(
            FaultKind.COMMAND_TIMEOUT_AFTER_EXECUTE,
            flash,
            honk,
            lambda car: car.executions["honk_horn"] == 1,
            id="ran_but_got_no_answer",
        ),
        pytest.param(
            FaultKind.BLACK_HOLE,
            lock,
            unlock,
            lambda car: car.locked is True,
            id="into_a_black_hole",
        ),
    ],
)
async def test_command_without_an_answer_is_unconfirmed(
    hass: HomeAssistant,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    fault: FaultKind,
    opener: Callable[[HomeAssistant], Awaitable[None]],
    send: Callable[[HomeAssistant], Awaitable[None]],
    on_car: Callable[[VirtualCar], bool],
) -> None:
    # A command before: the car's session is known, so the fault meets the command itself.
    await opener(hass)
    fleet_api.set_fault(fault)
    with pytest.raises(HomeAssistantError) as err:
        await send(hass)
    assert err.value.translation_key == "command_unconfirmed"
    assert on_car(car)
    assert state_of(hass, "lock", "doors").state == "locked"


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        (FaultKind.REFUSED, "cloud_unreachable"),
        (FaultKind.SERVER_ERROR, "command_unconfirmed"),
        (FaultKind.RATE_LIMITED, "command_rate_limited"),
    ],
)
async def test_cloud_failures(
    hass: HomeAssistant,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    advance: Advance,
    fault: FaultKind,
    key: str,
) -> None:
    await lock(hass)  # the car's session is known: the fault meets the command itself
    fleet_api.set_fault(fault, retry_after_s=42)
    await advance(60)
    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == key
    assert car.locked is True
    if fault is FaultKind.RATE_LIMITED:
        assert err.value.translation_placeholders["seconds"] == "42"


async def test_rejected_token_on_command_starts_reauth(
    hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    fleet_api.set_fault(FaultKind.TOKEN_EXPIRED)
    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == "auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert car.locked is True


async def test_no_link_for_the_preference(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, fleet_api: FleetApiSimulator
) -> None:
    vehicle = loaded_entry.runtime_data.vehicles[VIN]
    vehicle.route_preference = RoutePreference.BLUETOOTH_ONLY
    assert Route.BLUETOOTH not in vehicle.links
    sent = len(fleet_api.requests)
    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == "no_route"
    assert len(fleet_api.requests) == sent


async def test_unknown_command_is_refused_by_the_car(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    vehicle = loaded_entry.runtime_data.vehicles[VIN]
    with pytest.raises(HomeAssistantError) as err:
        await vehicle.async_command("remote_boombox")
    assert err.value.translation_key == "command_failed"
