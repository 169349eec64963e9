"""The tesla_simulator integration: its entities stage outages, sleep and Bluetooth range."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import timedelta
from unittest.mock import AsyncMock, patch

import aiohttp
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from habluetooth import CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS as STALE_S
from habluetooth import UNAVAILABLE_TRACK_SECONDS as SWEEP_S
from homeassistant import loader
from homeassistant.components import bluetooth
from homeassistant.components.lock import LockState
from homeassistant.config_entries import (
    SOURCE_BLUETOOTH,
    SOURCE_IMPORT,
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryData,
)
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_OPTION,
    CONF_ACCESS_TOKEN,
    CONF_ADDRESS,
    CONF_PORT,
    CONF_URL,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

import simulator.ha
from custom_components.tesla_resilient.const import (
    CONF_CAR_PUBLIC_KEY,
    CONF_PRIVATE_KEY,
    CONF_VIN,
    SUBENTRY_VEHICLE_KEY,
)
from custom_components.tesla_resilient.const import DOMAIN as TESLA_RESILIENT

# Imported before Home Assistant mounts its test configuration, so that `custom_components` is
# this repository's package and Tesla Resilient can be found.
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from simulator.ble_car import VCSEC
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.ha.tesla_simulator import (
    CONFIG_SCHEMA,
    async_ensure_tesla_resilient_entry,
    async_set_up_demo_account,
)
from simulator.ha.tesla_simulator.const import (
    ACCOUNT_SECRET,
    CAR_KEY_SECRET,
    CONF_BLUETOOTH_KEY_ADDED,
    DOMAIN,
    NEARBY_CAR_KEY_SECRET,
    NEARBY_VIN,
)
from simulator.ha.tesla_simulator.hub import NearbyCar, OutageKind, SimulatorHub
from simulator.ha.tesla_simulator.radio import CarRadio, car_private_key
from simulator.vehicle import VirtualCar
from tests.simulator.test_ble_car import Central, add_key_request, unsigned

OUTAGE = "switch.tesla_simulator_cloud_outage"
OUTAGE_KIND = "select.tesla_simulator_outage_kind"
IN_RANGE = "switch.tesla_simulator_in_bluetooth_range"
ASLEEP = "switch.tesla_simulator_asleep"
TAP_KEY_CARD = "button.tesla_simulator_tap_key_card"
NEARBY_IN_RANGE = "switch.nearby_model_y_in_bluetooth_range"
NEARBY_TAP_KEY_CARD = "button.nearby_model_y_tap_key_card"
NEARBY_LOCK = "lock.model_y_000002_doors"
SHORT = aiohttp.ClientTimeout(total=2)


class RecordingBluetooth:
    """A stand-in for the car's Bluetooth side that remembers what it was told."""

    def __init__(self) -> None:
        self.in_range: list[bool] = []
        self.taps = 0

    def set_in_range(self, in_range: bool) -> None:
        self.in_range.append(in_range)

    def tap_key_card(self) -> None:
        self.taps += 1


@pytest.fixture
async def tesla_simulator_integration(hass: HomeAssistant) -> None:
    """Make simulator/ha/tesla_simulator loadable as a custom integration."""
    integration = await hass.async_add_executor_job(
        loader.Integration.resolve_from_root, hass, simulator.ha, DOMAIN
    )
    assert integration is not None
    (await loader.async_get_custom_components(hass))[DOMAIN] = integration


@pytest.fixture
def ensure_account() -> Generator[AsyncMock]:
    """Leave the Tesla Resilient account alone: tests here are about the simulator."""
    with patch(
        "simulator.ha.tesla_simulator.async_ensure_tesla_resilient_entry",
        autospec=True,
        return_value=None,
    ) as ensure:
        yield ensure


@pytest.fixture
async def hub(
    hass: HomeAssistant,
    socket_enabled: None,
    ha_bluetooth: None,
    tesla_simulator_integration: None,
    ensure_account: AsyncMock,
) -> SimulatorHub:
    """The simulator set up from YAML on a free port."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {CONF_PORT: 0}})
    # Tesla Resilient's discovery of the nearby car imports its config flow in the background.
    await hass.async_block_till_done(wait_background_tasks=True)
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    assert entry.state is ConfigEntryState.LOADED
    hub: SimulatorHub = entry.runtime_data
    return hub


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=SHORT) as session:
        yield session


async def status(session: aiohttp.ClientSession, hub: SimulatorHub) -> int:
    async with session.get(f"{hub.fleet_api.base_url}/status") as resp:
        return resp.status


async def vehicle_state(session: aiohttp.ClientSession, hub: SimulatorHub) -> str:
    async with session.get(
        f"{hub.fleet_api.base_url}/api/1/vehicles/{hub.car.vin}",
        headers={"Authorization": f"Bearer {hub.fleet_api.access_token}"},
    ) as resp:
        assert resp.status == 200
        state: str = (await resp.json())["response"]["state"]
        return state


async def call(hass: HomeAssistant, domain: str, service: str, entity_id: str, **data: str) -> None:
    await hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )


async def test_sets_up_from_yaml_with_the_simulator_device_and_its_five_entities(
    hass: HomeAssistant, hub: SimulatorHub, ensure_account: AsyncMock
) -> None:
    for entity_id in (OUTAGE, OUTAGE_KIND, IN_RANGE, ASLEEP, TAP_KEY_CARD):
        assert hass.states.get(entity_id) is not None, entity_id
    assert hass.states.get(OUTAGE).state == STATE_OFF
    assert hass.states.get(OUTAGE_KIND).state == "full"
    assert hass.states.get(OUTAGE_KIND).attributes["options"] == [k.value for k in OutageKind]
    assert hass.states.get(IN_RANGE).state == STATE_ON
    assert hass.states.get(ASLEEP).state == STATE_OFF

    (entry,) = hass.config_entries.async_entries(DOMAIN)
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, entry.entry_id)})
    assert device is not None
    assert device.name == "Tesla simulator"
    assert hub.car.display_name == "Demo Model 3"
    ensure_account.assert_awaited_once_with(hass, hub)


async def test_outage_kinds_have_readable_names(hass: HomeAssistant, hub: SimulatorHub) -> None:
    names = await async_get_translations(hass, "en", "entity", {DOMAIN})
    prefix = f"component.{DOMAIN}.entity.select.outage_kind.state"

    assert [names[f"{prefix}.{kind}"] for kind in OutageKind] == [
        "Full",
        "Refused",
        "Black hole",
        "Data only",
        "Commands only",
        "Stale data",
        "Slow",
        "Rate limited",
    ]


async def test_refused_outage_refuses_connections_until_switched_off(
    hass: HomeAssistant, hub: SimulatorHub, session: aiohttp.ClientSession
) -> None:
    assert await status(session, hub) == 200

    await call(hass, "select", "select_option", OUTAGE_KIND, **{ATTR_OPTION: "refused"})
    assert hub.fleet_api.fault is FaultKind.NONE
    await call(hass, "switch", "turn_on", OUTAGE)

    assert hass.states.get(OUTAGE).state == STATE_ON
    with pytest.raises(aiohttp.ClientConnectorError):
        await status(session, hub)

    await call(hass, "switch", "turn_off", OUTAGE)
    assert hass.states.get(OUTAGE).state == STATE_OFF
    assert await status(session, hub) == 200


async def test_full_outage_answers_503(
    hass: HomeAssistant, hub: SimulatorHub, session: aiohttp.ClientSession
) -> None:
    await call(hass, "switch", "turn_on", OUTAGE)

    assert hub.fleet_api.fault is FaultKind.SERVER_ERROR
    assert await status(session, hub) == 503
    async with session.get(
        f"{hub.fleet_api.base_url}/api/1/vehicles/{hub.car.vin}/vehicle_data",
        headers={"Authorization": f"Bearer {hub.fleet_api.access_token}"},
    ) as resp:
        assert resp.status == 503


async def test_changing_the_kind_during_an_outage_changes_the_fault(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    await call(hass, "switch", "turn_on", OUTAGE)
    await call(hass, "select", "select_option", OUTAGE_KIND, **{ATTR_OPTION: "data_only"})

    assert hub.fleet_api.fault is FaultKind.DATA_ONLY
    assert hass.states.get(OUTAGE_KIND).state == "data_only"


async def test_asleep_switch_puts_the_car_to_sleep_and_wakes_it(
    hass: HomeAssistant, hub: SimulatorHub, session: aiohttp.ClientSession
) -> None:
    assert await vehicle_state(session, hub) == "online"

    await call(hass, "switch", "turn_on", ASLEEP)

    assert hub.car.asleep
    assert hass.states.get(ASLEEP).state == STATE_ON
    assert await vehicle_state(session, hub) == "asleep"

    hub.car.wake_duration_s = 0
    await call(hass, "switch", "turn_off", ASLEEP)

    assert hass.states.get(ASLEEP).state == STATE_OFF
    assert hub.car.wakes["simulator"] == 1
    assert await vehicle_state(session, hub) == "online"


async def test_car_falling_asleep_shows_on_the_switch(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    hub.car.sleep_now()
    await hass.async_block_till_done()

    assert hass.states.get(ASLEEP).state == STATE_ON


async def test_range_switch_and_key_card_reach_the_bluetooth_side(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    await call(hass, "switch", "turn_off", IN_RANGE)
    assert hass.states.get(IN_RANGE).state == STATE_OFF
    assert not hub.in_bluetooth_range

    bluetooth = RecordingBluetooth()
    hub.connect_bluetooth(bluetooth)
    await call(hass, "switch", "turn_on", IN_RANGE)
    await call(hass, "button", "press", TAP_KEY_CARD)

    assert bluetooth.in_range == [False, True]
    assert bluetooth.taps == 1
    assert hub.key_card_taps == 1
    assert hass.states.get(IN_RANGE).state == STATE_ON


async def test_unload_stops_the_fleet_api(
    hass: HomeAssistant, hub: SimulatorHub, session: aiohttp.ClientSession
) -> None:
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    assert await hass.config_entries.async_unload(entry.entry_id)

    assert entry.state is ConfigEntryState.NOT_LOADED
    assert hub.car.listeners == []
    with pytest.raises(aiohttp.ClientConnectorError):
        await status(session, hub)


async def test_a_new_port_in_yaml_moves_the_fleet_api(
    hass: HomeAssistant, hub: SimulatorHub, session: aiohttp.ClientSession
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_IMPORT}, data={CONF_PORT: port}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    assert entry.data == {CONF_PORT: port}
    assert entry.state is ConfigEntryState.LOADED
    moved: SimulatorHub = entry.runtime_data
    assert moved.fleet_api.port == port
    assert await status(session, moved) == 200


async def test_the_user_step_points_to_yaml(
    hass: HomeAssistant, tesla_simulator_integration: None
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "yaml_only"


async def test_the_car_falling_asleep_on_its_own_shows_at_the_next_refresh(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    hub.car.idle_sleep_s = 0

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()

    assert hass.states.get(ASLEEP).state == STATE_ON


async def test_port_in_use_retries_setup(
    hass: HomeAssistant,
    socket_enabled: None,
    ha_bluetooth: None,
    tesla_simulator_integration: None,
    ensure_account: AsyncMock,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert await async_setup_component(hass, DOMAIN, {DOMAIN: {CONF_PORT: port}})
        await hass.async_block_till_done()

    (entry,) = hass.config_entries.async_entries(DOMAIN)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    ensure_account.assert_not_awaited()


def test_yaml_section_without_options_uses_port_8321() -> None:
    assert CONFIG_SCHEMA({DOMAIN: None})[DOMAIN] == {CONF_PORT: 8321}


async def test_adds_a_loading_tesla_resilient_entry_for_the_simulated_account(
    hass: HomeAssistant,
    socket_enabled: None,
    enable_bluetooth: None,
    tesla_simulator_integration: None,
) -> None:
    simulator_entry = await set_up_simulator(hass)
    fleet_api = simulator_entry.runtime_data.fleet_api
    (entry,) = hass.config_entries.async_entries(TESLA_RESILIENT)
    assert entry.data[CONF_URL] == fleet_api.base_url
    assert entry.data[CONF_ACCESS_TOKEN] == fleet_api.access_token
    assert entry.state is ConfigEntryState.LOADED


async def test_an_entry_from_an_earlier_run_loads_after_a_restart(
    hass: HomeAssistant, enable_bluetooth: None, hub: SimulatorHub
) -> None:
    earlier_run = FleetApiSimulator(VirtualCar(), secret=ACCOUNT_SECRET)
    await earlier_run.start()
    token = earlier_run.access_token
    await earlier_run.stop()
    earlier = MockConfigEntry(
        domain=TESLA_RESILIENT, data={CONF_URL: hub.fleet_api.base_url, CONF_ACCESS_TOKEN: token}
    )
    earlier.add_to_hass(hass)

    await async_ensure_tesla_resilient_entry(hass, hub)
    await hass.config_entries.async_setup(earlier.entry_id)
    await hass.async_block_till_done()

    assert hass.config_entries.async_entries(TESLA_RESILIENT) == [earlier]
    assert earlier.state is ConfigEntryState.LOADED
    assert not list(earlier.async_get_active_flows(hass, {SOURCE_REAUTH}))


async def test_keeps_a_working_token_and_other_accounts(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    current = MockConfigEntry(
        domain=TESLA_RESILIENT,
        data={CONF_URL: hub.fleet_api.base_url, CONF_ACCESS_TOKEN: hub.fleet_api.access_token},
    )
    other = MockConfigEntry(
        domain=TESLA_RESILIENT,
        data={CONF_URL: "https://fleet-api.example", CONF_ACCESS_TOKEN: "real"},
    )
    current.add_to_hass(hass)
    other.add_to_hass(hass)
    token = hub.fleet_api.access_token

    await async_ensure_tesla_resilient_entry(hass, hub)

    assert current.data[CONF_ACCESS_TOKEN] == token
    assert other.data[CONF_ACCESS_TOKEN] == "real"
    assert len(hass.config_entries.async_entries(TESLA_RESILIENT)) == 2


async def test_adds_nothing_next_to_another_account(hass: HomeAssistant, hub: SimulatorHub) -> None:
    MockConfigEntry(
        domain=TESLA_RESILIENT,
        data={CONF_URL: "https://fleet-api.example", CONF_ACCESS_TOKEN: "real"},
    ).add_to_hass(hass)

    await async_ensure_tesla_resilient_entry(hass, hub)

    assert len(hass.config_entries.async_entries(TESLA_RESILIENT)) == 1


async def set_up_simulator(hass: HomeAssistant) -> ConfigEntry:
    """Set up the simulator from YAML, as the demo does; its config entry."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {CONF_PORT: 0}})
    await hass.async_block_till_done()
    (simulator_entry,) = hass.config_entries.async_entries(DOMAIN)
    return simulator_entry


@pytest.fixture
async def simulator_entry(
    hass: HomeAssistant,
    socket_enabled: None,
    ha_bluetooth: None,
    tesla_simulator_integration: None,
) -> ConfigEntry:
    """The simulator set up as the demo sets it up, with Home Assistant's Bluetooth."""
    return await set_up_simulator(hass)


def radio_of(hub: SimulatorHub) -> CarRadio:
    assert isinstance(hub.bluetooth, CarRadio)
    return hub.bluetooth


def fire_after(hass: HomeAssistant, seconds: float) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


async def test_the_car_is_heard_through_the_simulated_proxy(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    radio = radio_of(hub)

    info = bluetooth.async_last_service_info(hass, radio.proxy.address, connectable=True)

    assert info is not None
    assert info.name == radio.ble_car.local_name
    assert radio.ble_car.car is hub.car


async def test_range_switch_takes_the_car_out_of_home_assistants_bluetooth_and_back(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    address = radio_of(hub).proxy.address

    await call(hass, "switch", "turn_off", IN_RANGE)
    fire_after(hass, STALE_S + 1)
    fire_after(hass, STALE_S + SWEEP_S)
    await hass.async_block_till_done()

    assert not radio_of(hub).proxy.in_range
    assert bluetooth.async_ble_device_from_address(hass, address, connectable=True) is None

    await call(hass, "switch", "turn_on", IN_RANGE)

    assert bluetooth.async_ble_device_from_address(hass, address, connectable=True) is not None


async def test_tap_key_card_button_completes_a_pending_pairing(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    ble_car = radio_of(hub).ble_car
    key = public_key_bytes(generate_private_key())
    phone = Central(ble_car, mtu=185)
    phone.send(unsigned(VCSEC, add_key_request(key).SerializeToString()))
    assert key not in ble_car.known_keys

    await call(hass, "button", "press", TAP_KEY_CARD)

    assert key in ble_car.known_keys


async def test_the_car_keeps_its_bluetooth_key_across_restarts(hub: SimulatorHub) -> None:
    car_key = radio_of(hub).ble_car.public_key

    assert car_key == car_private_key(CAR_KEY_SECRET).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )
    assert car_key != car_private_key(b"another car").public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )


async def test_the_demo_account_gets_a_bluetooth_key_paired_with_the_car(
    hass: HomeAssistant,
    simulator_entry: ConfigEntry,
) -> None:
    radio = radio_of(simulator_entry.runtime_data)
    (entry,) = hass.config_entries.async_entries(TESLA_RESILIENT)
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_VEHICLE_KEY
    assert subentry.unique_id == radio.ble_car.car.vin
    assert subentry.title == "Demo Model 3"
    assert subentry.data[CONF_VIN] == radio.ble_car.car.vin
    assert subentry.data[CONF_CAR_PUBLIC_KEY] == radio.ble_car.public_key.hex()
    assert subentry.data[CONF_ADDRESS] == radio.proxy.address
    assert radio.ble_car.known_keys == {public_key_bytes(subentry.data[CONF_PRIVATE_KEY])}
    assert simulator_entry.data[CONF_BLUETOOTH_KEY_ADDED] is True


def account_with_key(hub: SimulatorHub, pem: str, vin: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=TESLA_RESILIENT,
        data={CONF_URL: hub.fleet_api.base_url, CONF_ACCESS_TOKEN: hub.fleet_api.access_token},
        subentries_data=[
            ConfigSubentryData(
                data={CONF_VIN: vin, CONF_PRIVATE_KEY: pem},
                subentry_type=SUBENTRY_VEHICLE_KEY,
                title="Demo Model 3",
                unique_id=vin,
            )
        ],
    )


async def test_keys_stored_by_tesla_resilient_are_on_the_car_after_a_restart(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    pem = generate_private_key()
    account_with_key(hub, pem, hub.car.vin).add_to_hass(hass)
    account_with_key(hub, generate_private_key(), "5YJ3E7EB0NF999999").add_to_hass(hass)
    MockConfigEntry(
        domain=TESLA_RESILIENT, data={CONF_VIN: hub.car.vin, CONF_PRIVATE_KEY: "not a key"}
    ).add_to_hass(hass)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    restarted: SimulatorHub = entry.runtime_data
    assert radio_of(restarted).ble_car.known_keys == {public_key_bytes(pem)}


async def test_a_removed_demo_key_is_not_added_again(
    hass: HomeAssistant, hub: SimulatorHub, ensure_account: AsyncMock
) -> None:
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_BLUETOOTH_KEY_ADDED: True}
    )
    account = MockConfigEntry(
        domain=TESLA_RESILIENT,
        data={CONF_URL: hub.fleet_api.base_url, CONF_ACCESS_TOKEN: hub.fleet_api.access_token},
    )
    account.add_to_hass(hass)
    ensure_account.return_value = account

    await async_set_up_demo_account(hass, entry, radio_of(hub))

    assert not account.subentries
    assert not radio_of(hub).ble_car.known_keys


async def test_the_demo_key_is_added_to_an_account_from_an_earlier_run(
    hass: HomeAssistant, hub: SimulatorHub, ensure_account: AsyncMock
) -> None:
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    account = MockConfigEntry(
        domain=TESLA_RESILIENT,
        data={CONF_URL: hub.fleet_api.base_url, CONF_ACCESS_TOKEN: hub.fleet_api.access_token},
    )
    account.add_to_hass(hass)
    ensure_account.return_value = account

    await async_set_up_demo_account(hass, entry, radio_of(hub))
    await async_set_up_demo_account(hass, entry, radio_of(hub))

    (subentry,) = account.subentries.values()
    assert radio_of(hub).ble_car.known_keys == {public_key_bytes(subentry.data[CONF_PRIVATE_KEY])}


async def test_a_new_key_pairs_through_add_bluetooth_key_and_the_key_card_button(
    hass: HomeAssistant,
    ble_no_backoff: None,
    simulator_entry: ConfigEntry,
) -> None:
    radio = radio_of(simulator_entry.runtime_data)
    (entry,) = hass.config_entries.async_entries(TESLA_RESILIENT)
    (demo_key,) = entry.subentries.values()
    hass.config_entries.async_remove_subentry(entry, demo_key.subentry_id)
    radio.ble_car.remove_key(public_key_bytes(demo_key.data[CONF_PRIVATE_KEY]))
    await hass.async_block_till_done()

    flows = hass.config_entries.subentries
    result = await flows.async_init(
        (entry.entry_id, SUBENTRY_VEHICLE_KEY), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    result = await flows.async_configure(result["flow_id"], {CONF_VIN: hub_vin(radio)})
    assert result["step_id"] == "pair"
    result = await flows.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    for _ in range(500):
        await call(hass, "button", "press", TAP_KEY_CARD)
        if radio.ble_car.known_keys:
            break
        await asyncio.sleep(0.01)
    await hass.async_block_till_done()
    result = await flows.async_configure(result["flow_id"])

    assert result["type"] is FlowResultType.CREATE_ENTRY
    (new_key,) = entry.subentries.values()
    assert new_key.data[CONF_PRIVATE_KEY] != demo_key.data[CONF_PRIVATE_KEY]
    assert new_key.data[CONF_CAR_PUBLIC_KEY] == radio.ble_car.public_key.hex()
    assert radio.ble_car.known_keys == {public_key_bytes(new_key.data[CONF_PRIVATE_KEY])}


def hub_vin(radio: CarRadio) -> str:
    return radio.ble_car.car.vin


def nearby_of(hub: SimulatorHub) -> tuple[NearbyCar, CarRadio]:
    assert hub.nearby is not None
    assert isinstance(hub.nearby.bluetooth, CarRadio)
    return hub.nearby, hub.nearby.bluetooth


def discovered_flows(hass: HomeAssistant) -> list[dict[str, object]]:
    return [
        dict(flow)
        for flow in hass.config_entries.flow.async_progress_by_handler(TESLA_RESILIENT)
        if flow["context"]["source"] == SOURCE_BLUETOOTH
    ]


async def test_a_second_car_without_an_account_has_its_own_device_key_card_and_range(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    nearby, radio = nearby_of(hub)
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    device = dr.async_get(hass).async_get_device(
        identifiers={(DOMAIN, f"{entry.entry_id}_nearby_car")}
    )

    assert device is not None
    assert device.name == "Nearby Model Y"
    assert device.serial_number == NEARBY_VIN == nearby.car.vin != hub.car.vin
    assert not nearby.car.locked
    assert radio.proxy.address != radio_of(hub).proxy.address
    assert radio.ble_car.public_key != radio_of(hub).ble_car.public_key
    assert radio.ble_car.public_key == car_private_key(
        NEARBY_CAR_KEY_SECRET
    ).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert not radio.ble_car.known_keys
    info = bluetooth.async_last_service_info(hass, radio.proxy.address, connectable=True)
    assert info is not None
    assert info.name == radio.ble_car.local_name

    await call(hass, "switch", "turn_off", NEARBY_IN_RANGE)

    assert hass.states.get(NEARBY_IN_RANGE).state == STATE_OFF
    assert not radio.proxy.in_range
    assert radio_of(hub).proxy.in_range
    assert hass.states.get(IN_RANGE).state == STATE_ON

    key = public_key_bytes(generate_private_key())
    Central(radio.ble_car, mtu=185).send(unsigned(VCSEC, add_key_request(key).SerializeToString()))
    await call(hass, "button", "press", NEARBY_TAP_KEY_CARD)

    assert radio.ble_car.known_keys == {key}
    assert not radio_of(hub).ble_car.known_keys
    assert nearby.key_card_taps == 1
    assert hub.key_card_taps == 0


async def test_the_nearby_car_is_discovered_paired_with_its_key_card_and_locked_over_bluetooth(
    hass: HomeAssistant,
    ble_no_backoff: None,
    simulator_entry: ConfigEntry,
) -> None:
    nearby, radio = nearby_of(simulator_entry.runtime_data)

    (flow,) = discovered_flows(hass)
    assert flow["step_id"] == "bluetooth_confirm"
    flow_id = str(flow["flow_id"])
    flows = hass.config_entries.flow
    result = await flows.async_configure(flow_id, {CONF_VIN: NEARBY_VIN})
    assert result["step_id"] == "pair"
    progressed = asyncio.Event()

    @callback
    def on_progressed(event: Event) -> None:
        if event.data.get("flow_id") == flow_id:
            progressed.set()

    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, on_progressed)
    result = await flows.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await until_true(lambda: radio.proxy.round_trips >= 1)
    assert not radio.ble_car.known_keys

    await call(hass, "button", "press", NEARBY_TAP_KEY_CARD)
    await asyncio.wait_for(progressed.wait(), timeout=10)
    result = await flows.async_configure(flow_id)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.title == "Model Y 000002"
    assert entry.data[CONF_VIN] == NEARBY_VIN
    assert entry.data[CONF_ADDRESS] == radio.proxy.address
    assert radio.ble_car.known_keys == {public_key_bytes(entry.data[CONF_PRIVATE_KEY])}
    await until_true(lambda: hass.states.get(NEARBY_LOCK) is not None)
    await until_true(lambda: hass.states.get(NEARBY_LOCK).state == LockState.UNLOCKED)

    await call(hass, "lock", "lock", NEARBY_LOCK)

    assert nearby.car.locked
    assert hass.states.get(NEARBY_LOCK).state == LockState.LOCKED
    route = hass.states.get("sensor.model_y_000002_last_command_route")
    assert route is not None
    assert route.state == "bluetooth"
    assert not simulator_entry.runtime_data.car.executions


async def test_a_paired_nearby_car_keeps_its_key_across_restarts(
    hass: HomeAssistant, hub: SimulatorHub
) -> None:
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    pem = generate_private_key()
    MockConfigEntry(
        domain=TESLA_RESILIENT, data={CONF_VIN: NEARBY_VIN, CONF_PRIVATE_KEY: pem}
    ).add_to_hass(hass)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    _, radio = nearby_of(entry.runtime_data)
    assert radio.ble_car.known_keys == {public_key_bytes(pem)}
    assert not radio_of(entry.runtime_data).ble_car.known_keys


async def until_true(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")
