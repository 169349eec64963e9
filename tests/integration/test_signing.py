"""Signed cloud commands: both key sources, the repair issue, and Tesla's answers read right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.climate import DOMAIN as CLIMATE_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, CONF_URL, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import (
    CONF_CAR_PUBLIC_KEY,
    CONF_PRIVATE_KEY,
    CONF_VIN,
    DOMAIN,
    SUBENTRY_VEHICLE_KEY,
)
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from custom_components.tesla_resilient.repairs import async_create_fix_flow
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import CommandSigning, VirtualCar

from .common import (
    VIN,
    Advance,
    account_entry,
    application_key_on_cars,
    entity_id,
    requests_to,
    state_of,
)

SIGNING_ISSUE = f"signing_key_missing_{VIN}"


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def unlock(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "lock", "unlock", {ATTR_ENTITY_ID: entity_id(hass, "lock", "doors")}, blocking=True
    )


async def lock(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "lock", "lock", {ATTR_ENTITY_ID: entity_id(hass, "lock", "doors")}, blocking=True
    )


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
    ]


def cloud_is_healthy(hass: HomeAssistant) -> bool:
    status = hass.states.get("sensor.tesla_cloud_status")
    connected = hass.states.get("binary_sensor.tesla_cloud")
    assert status is not None
    assert connected is not None
    return status.state == "online" and connected.state == "on"


def last_route(hass: HomeAssistant) -> tuple[str, bool]:
    state = state_of(hass, "sensor", "last_command_route")
    return state.state, state.attributes["confirmed"]


def bluetooth_key_entry(hass: HomeAssistant, api: FleetApiSimulator) -> MockConfigEntry:
    """An account entry with a Bluetooth key paired with the car (the car is out of range)."""
    pem = generate_private_key()
    ble_car = api.ble_car(VIN)
    ble_car.add_known_key(public_key_bytes(pem))
    return account_entry(
        hass,
        api,
        title="Demo Model 3",
        subentries_data=[
            {
                "data": {
                    CONF_VIN: VIN,
                    CONF_PRIVATE_KEY: pem,
                    CONF_CAR_PUBLIC_KEY: ble_car.public_key.hex(),
                },
                "subentry_type": SUBENTRY_VEHICLE_KEY,
                "title": "Demo Model 3",
                "unique_id": VIN,
            }
        ],
    )


async def test_the_bluetooth_key_signs_cloud_commands(
    hass: HomeAssistant, sim_clock: FakeClock, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    """One key for both routes: paired over Bluetooth, it signs through the cloud as well."""
    entry = bluetooth_key_entry(hass, fleet_api)
    await set_up(hass, entry)
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is None

    await unlock(hass)
    await lock(hass)

    assert car.executions["cloud:door_unlock"] == car.executions["cloud:door_lock"] == 1
    assert car.locked is True
    assert last_route(hass) == ("cloud", True)
    assert requests_to(fleet_api, "/command/door_lock") == 0
    assert fleet_api.ble_car(VIN).cloud_handshakes == 1


async def test_the_application_key_signs_cloud_commands(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
) -> None:
    """Tesla's fleet_status says the car has the application's key: commands are signed with it."""
    assert requests_to(fleet_api, "/vehicles/fleet_status") == 1
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is None

    await unlock(hass)

    assert car.locked is False
    assert last_route(hass) == ("cloud", True)
    assert requests_to(fleet_api, f"/{VIN}/signed_command") == 2  # session info, the command
    # The car's cost: one data read at setup and two signed commands, as Tesla bills them.
    assert fleet_api.billing.commands == 2
    cost = float(state_of(hass, "sensor", "cloud_cost").state)
    assert cost == pytest.approx(1 / 500 + 2 / 1000)


async def test_fifty_commands_never_reauthenticate(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
) -> None:
    """With a key the car knows: one handshake per domain, then every command runs."""
    for press in range(50):
        await (lock if press % 2 else unlock)(hass)
    assert car.executions["door_unlock"] == car.executions["door_lock"] == 25
    assert fleet_api.ble_car(VIN).cloud_handshakes == 1
    assert reauth_flows(hass) == []
    assert cloud_is_healthy(hass)


async def test_fifty_commands_without_a_key_raise_a_repair_not_a_reauth(
    hass: HomeAssistant, sim_clock: FakeClock, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    """No key the car knows: a repair issue says what to do; the sign-in is not blamed."""
    entry = account_entry(hass, fleet_api, title="Demo Model 3")
    await set_up(hass, entry)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE)
    assert issue is not None
    assert issue.translation_key == "signing_key_missing"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["link"].startswith("https://tesla.com/_ak/")

    for _ in range(50):
        with pytest.raises(HomeAssistantError) as err:
            await unlock(hass)
        assert err.value.translation_key == "signing_key_missing"
    assert car.locked is True
    assert not car.executions
    assert requests_to(fleet_api, "/command/door_unlock") == 0  # never sent unsigned
    assert reauth_flows(hass) == []
    assert cloud_is_healthy(hass)


async def test_a_refusal_for_want_of_signing_signs_the_command(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    tmp_path: Path,
) -> None:
    """The list said plain commands work, Tesla's 403 says otherwise: the same command is signed."""
    car.command_signing = CommandSigning.OFF
    entry = account_entry(
        hass,
        fleet_api,
        title="Demo Model 3",
        options=application_key_on_cars(hass, fleet_api, tmp_path),
    )
    await set_up(hass, entry)
    assert requests_to(fleet_api, "/vehicles/fleet_status") == 0  # nothing needed signing
    car.command_signing = CommandSigning.REQUIRED

    await unlock(hass)
    assert car.locked is False
    assert requests_to(fleet_api, "/command/door_unlock") == 1  # refused, ran nothing
    assert requests_to(fleet_api, "/vehicles/fleet_status") == 1  # does it have our key?
    assert car.executions["cloud:door_unlock"] == 1
    assert last_route(hass) == ("cloud", True)

    await lock(hass)
    assert requests_to(fleet_api, "/command/door_lock") == 0  # signed from then on
    assert car.locked is True
    assert reauth_flows(hass) == []
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is None
    assert cloud_is_healthy(hass)


async def test_a_key_added_after_setup_is_found_at_a_later_command(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    tmp_path: Path,
    advance: Advance,
) -> None:
    """The owner opens Tesla's link after setup: a command a minute on asks again, and signs."""
    options = application_key_on_cars(hass, fleet_api, tmp_path, vins=())
    entry = account_entry(hass, fleet_api, title="Demo Model 3", options=options)
    await set_up(hass, entry)
    assert requests_to(fleet_api, "/vehicles/fleet_status") == 1  # at setup: the car has none

    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == "signing_key_missing"
    assert requests_to(fleet_api, "/vehicles/fleet_status") == 1  # Tesla said so a moment ago
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is not None

    fleet_api.enroll_application_key(VIN)
    await advance(60)
    await unlock(hass)
    assert car.locked is False
    assert requests_to(fleet_api, "/vehicles/fleet_status") == 2
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is None
    await lock(hass)
    assert car.locked is True
    assert requests_to(fleet_api, "/vehicles/fleet_status") == 2


async def test_hardlocked_answer_signs_the_command(
    hass: HomeAssistant, sim_clock: FakeClock, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    """HTTP 200 `unsigned_cmds_hardlocked` is no rejection: the command goes again, signed."""
    car.command_signing = CommandSigning.OFF
    entry = bluetooth_key_entry(hass, fleet_api)
    await set_up(hass, entry)
    car.command_signing = CommandSigning.REQUIRED
    fleet_api.set_fault(FaultKind.UNSIGNED_HARDLOCKED)

    await unlock(hass)
    await lock(hass)

    assert car.executions["cloud:door_unlock"] == car.executions["cloud:door_lock"] == 1
    assert requests_to(fleet_api, "/command/door_unlock") == 1
    assert requests_to(fleet_api, "/command/door_lock") == 0
    assert last_route(hass) == ("cloud", True)
    assert reauth_flows(hass) == []


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param("flip_a_byte", id="altered"),
        pytest.param("plaintext", id="forged_in_the_clear"),
    ],
)
async def test_a_signed_reply_that_fails_authentication_is_not_believed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    alter: str,
) -> None:
    """The car ran it, but the answer that came back is not the car's: unconfirmed."""
    await lock(hass)  # the session is known; the next answer is the command's

    def altered(reply: Any) -> Any:
        if reply.WhichOneof("payload") != "protobuf_message_as_bytes":
            return reply
        if alter == "flip_a_byte":
            body = bytearray(reply.protobuf_message_as_bytes)
            body[0] ^= 0x01
            reply.protobuf_message_as_bytes = bytes(body)
        else:
            reply.ClearField("signature_data")
            reply.protobuf_message_as_bytes = b""
        return reply

    fleet_api.alter_signed_replies = altered
    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == "command_unconfirmed"
    assert car.locked is False  # it ran; the answer was not trusted
    assert last_route(hass) == ("cloud", False)
    assert state_of(hass, "lock", "doors").state == "locked"


@pytest.mark.parametrize("fault", [FaultKind.CAR_UNREACHABLE, FaultKind.CAR_ERROR])
async def test_the_cars_failures_are_not_an_outage(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    advance: Advance,
    fault: FaultKind,
) -> None:
    """503 "vehicle is not available" and 540: the car failed, the cloud works; may have run."""
    await lock(hass)
    fleet_api.set_fault(fault, ran=1)
    for _ in range(3):
        with pytest.raises(HomeAssistantError) as err:
            await unlock(hass)
        assert err.value.translation_key == "command_unconfirmed"
        await advance(60)
    assert car.locked is False
    assert cloud_is_healthy(hass)
    assert reauth_flows(hass) == []


async def test_missing_scopes_raise_a_fixable_repair_not_a_reauth(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    car_asleep: None,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    """403 "Unauthorized missing scopes": the repair names the scope and fixing it signs in."""
    fleet_api.set_fault(FaultKind.MISSING_SCOPES)
    car.wake("app")
    await advance(60)  # a car that woke is read at once
    assert requests_to(fleet_api, "/vehicle_data") == 2
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"missing_scopes_{loaded_entry.entry_id}")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "title": "Demo Model 3",
        "scope": "vehicle_device_data",
    }
    assert reauth_flows(hass) == []

    flow = await async_create_fix_flow(hass, issue.issue_id, issue.data)
    flow.hass = hass
    form = await flow.async_step_init()
    assert form["type"] == "form"
    assert form["description_placeholders"] == {"scope": "vehicle_device_data"}
    await flow.async_step_confirm({})
    await hass.async_block_till_done()
    assert len(reauth_flows(hass)) == 1


async def test_a_421_is_followed_and_the_new_server_remembered(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    """Tesla names the account's regional server: it is used at once and from then on."""
    fleet_api.set_fault(FaultKind.OUT_OF_REGION)
    await unlock(hass)
    assert car.locked is False
    assert loaded_entry.data[CONF_URL] == fleet_api.alternate_base_url
    assert loaded_entry.runtime_data.account is not None
    assert loaded_entry.runtime_data.account.link.base_url == fleet_api.alternate_base_url

    await advance(60)
    assert cloud_is_healthy(hass)
    assert reauth_flows(hass) == []


@pytest.mark.parametrize("fault", [FaultKind.ACCOUNT_LOCKED, FaultKind.PRIVACY_BLOCKED])
async def test_a_locked_account_or_privacy_settings_are_said_so(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    fault: FaultKind,
) -> None:
    """423 and 451 are the account's and the owner's settings: no sign-in, no outage."""
    fleet_api.set_fault(fault)
    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == "account_blocked"
    assert car.locked is True
    assert reauth_flows(hass) == []
    assert cloud_is_healthy(hass)


@pytest.mark.usefixtures("sim_clock")
async def test_an_unpaid_application_is_a_repair_not_a_sign_in(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    """Tesla's 402: a repair naming Tesla and its dashboard; no sign-in, no outage; paid, gone."""
    issue_id = f"payment_required_{loaded_entry.entry_id}"
    fleet_api.set_fault(FaultKind.PAYMENT_REQUIRED)
    with pytest.raises(HomeAssistantError) as err:
        await unlock(hass)
    assert err.value.translation_key == "payment_required"
    assert err.value.translation_placeholders == {
        "command": "door_unlock",
        "provider": "Tesla Fleet API",
    }
    assert car.locked is True
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": loaded_entry.title,
        "provider": "Tesla Fleet API",
        "reason": "payment_required",
        "link": "https://developer.tesla.com/dashboard",
    }
    await advance(120)
    assert reauth_flows(hass) == []
    assert cloud_is_healthy(hass)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    fleet_api.clear_fault()
    await advance(120)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_infotainment_unreached_while_online_is_said_so(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
) -> None:
    """408 "vehicle is offline" to infotainment while Tesla lists the car online and its locks
    answer (vehicle-command#450): said as such, not as sleep; no wake request, no outage."""
    fleet_api.set_fault(FaultKind.INFOTAINMENT_OFFLINE)
    climate = entity_id(hass, CLIMATE_DOMAIN, "climate")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            CLIMATE_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: climate}, blocking=True
        )
    assert err.value.translation_key == "vehicle_unreached"
    assert car.climate_on is False
    assert requests_to(fleet_api, "/wake_up") == 0

    await unlock(hass)
    assert car.locked is False
    assert reauth_flows(hass) == []
    assert cloud_is_healthy(hass)


async def test_missing_scopes_at_setup_retry_with_the_repair(
    hass: HomeAssistant, sim_clock: FakeClock, fleet_api: FleetApiSimulator
) -> None:
    """The vehicle list refused for a scope: setup retries, the repair says why, no sign-in."""
    entry = account_entry(hass, fleet_api, title="Demo Model 3")
    fleet_api.set_fault(FaultKind.MISSING_SCOPES)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"missing_scopes_{entry.entry_id}")
    assert issue is not None
    assert issue.is_fixable
    assert reauth_flows(hass) == []
