"""The Bluetooth flow's remaining paths: a look-alike device, a mistyped VIN, a known car."""

from __future__ import annotations

from homeassistant.components import bluetooth
from homeassistant.config_entries import SOURCE_BLUETOOTH
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import CONF_VIN, DOMAIN
from simulator.ble_car import BleCar
from simulator.ble_proxy import CarLink, SimulatedBluetoothProxy
from simulator.vehicle import VirtualCar

OLD_ADDRESS = "AA:BB:CC:DD:EE:99"


class LookAlike:
    """A Bluetooth device whose name matches the integration's matchers but is not a Tesla's."""

    local_name = "S01 Smart Scale"

    def connect(self, indicate: object, mtu: int = 23) -> CarLink:
        raise AssertionError("the integration must not connect to a device that is not a car")


async def test_device_named_like_a_tesla_is_not_offered(
    hass: HomeAssistant, ha_bluetooth: None, ble_no_backoff: None
) -> None:
    proxy = SimulatedBluetoothProxy(hass, LookAlike(), address="AA:BB:CC:DD:EE:42")
    await proxy.async_start()
    try:
        await hass.async_block_till_done(wait_background_tasks=True)
        assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)

        info = bluetooth.async_last_service_info(hass, proxy.address, connectable=True)
        assert info is not None
        assert info.name == LookAlike.local_name
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=info
        )
    finally:
        await proxy.async_stop()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_supported"
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_user_started_bluetooth_setup_rejects_a_mistyped_vin(
    hass: HomeAssistant, car: VirtualCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "bluetooth_user"})

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VIN: car.vin[:-1] + "O"}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "bluetooth_user"
    assert result["errors"] == {CONF_VIN: "invalid_vin"}
    assert ble_proxy.round_trips == 0


async def test_user_started_bluetooth_setup_of_a_set_up_car_updates_its_address(
    hass: HomeAssistant, car: VirtualCar, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=car.vin, data={CONF_VIN: car.vin, CONF_ADDRESS: OLD_ADDRESS}
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "bluetooth_user"})

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VIN: f" {car.vin.lower()} "}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "car_already_configured"
    assert entry.data[CONF_ADDRESS] == ble_proxy.address
    assert ble_proxy.round_trips == 0
    assert not ble_car.known_keys


async def test_user_started_bluetooth_setup_of_an_account_vehicle_points_to_the_account(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_proxy: SimulatedBluetoothProxy,
    device_registry: dr.DeviceRegistry,
) -> None:
    account = MockConfigEntry(domain=DOMAIN, unique_id="account", title="Tesla account")
    account.add_to_hass(hass)
    device_registry.async_get_or_create(
        config_entry_id=account.entry_id, identifiers={(DOMAIN, car.vin)}, name=car.display_name
    )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "bluetooth_user"})

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_VIN: car.vin})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "account_vehicle"
    assert hass.config_entries.async_entries(DOMAIN) == [account]
