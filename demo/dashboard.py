"""The demo's default dashboard: the outage story, from the simulated world to the car."""

from __future__ import annotations

from typing import Any, Final

CAR: Final = "demo_model_3"
SIMULATOR: Final = "tesla_simulator"

TESLA_CLOUD: Final = "binary_sensor.tesla_cloud"
TESLA_CLOUD_STATUS: Final = "sensor.tesla_cloud_status"
CLOUD_CONNECTION: Final = f"binary_sensor.{CAR}_cloud_connection"
BLUETOOTH_CONNECTION: Final = f"binary_sensor.{CAR}_bluetooth_connection"
LAST_COMMAND_ROUTE: Final = f"sensor.{CAR}_last_command_route"
ESTIMATED_CLOUD_COST: Final = f"sensor.{CAR}_estimated_cloud_cost"

DOOR_LOCK: Final = f"lock.{CAR}_doors"
CLIMATE: Final = f"climate.{CAR}_climate"
CHARGE_LIMIT: Final = f"number.{CAR}_charge_limit"
TRUNK: Final = f"cover.{CAR}_trunk"
HONK: Final = f"button.{CAR}_honk_horn"
BATTERY: Final = f"sensor.{CAR}_battery"
BATTERY_RANGE: Final = f"sensor.{CAR}_battery_range"
CHARGING: Final = f"sensor.{CAR}_charging"

CLOUD_OUTAGE: Final = f"switch.{SIMULATOR}_cloud_outage"
OUTAGE_KIND: Final = f"select.{SIMULATOR}_outage_kind"
IN_BLUETOOTH_RANGE: Final = f"switch.{SIMULATOR}_in_bluetooth_range"
ASLEEP: Final = f"switch.{SIMULATOR}_asleep"
TAP_KEY_CARD: Final = f"button.{SIMULATOR}_tap_key_card"

NEARBY_VIN: Final = "7SAYGDEE5PA000002"
"""The VIN of the simulator's nearby car (simulator.ha.tesla_simulator.const.NEARBY_VIN)."""
NEARBY_SIMULATOR: Final = "nearby_model_y"
NEARBY_TAP_KEY_CARD: Final = f"button.{NEARBY_SIMULATOR}_tap_key_card"
NEARBY_IN_BLUETOOTH_RANGE: Final = f"switch.{NEARBY_SIMULATOR}_in_bluetooth_range"
NEARBY_CAR: Final = "model_y_000002"
"""Tesla Resilient names a car paired without an account by its model and its VIN's last digits."""
NEARBY_DOOR_LOCK: Final = f"lock.{NEARBY_CAR}_doors"
NEARBY_BLUETOOTH_CONNECTION: Final = f"binary_sensor.{NEARBY_CAR}_bluetooth_connection"
NEARBY_LAST_COMMAND_ROUTE: Final = f"sensor.{NEARBY_CAR}_last_command_route"

STORY: Final = (
    "Stage a cloud outage here, watch **Tesla cloud** go down, then lock the car: the command "
    "takes the Bluetooth route. Take the car out of Bluetooth range to see the cloud carry it "
    "again."
)

NEARBY_STORY: Final = (
    "A Model Y with no Tesla account parks nearby; Home Assistant hears it over Bluetooth. "
    "Add it from its card under **Settings → Devices & services**, enter its VIN "
    f"`{NEARBY_VIN}`, and tap its key card here while Home Assistant waits. Its lock shows "
    "here once it is paired."
)


def _heading(text: str, icon: str) -> dict[str, Any]:
    return {"type": "heading", "heading": text, "icon": icon}


def _tile(entity: str, name: str, *, wide: bool = True) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "tile", "entity": entity, "name": name}
    if wide:
        card["grid_options"] = {"columns": "full"}
    return card


def _entities(*rows: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "entities",
        "state_color": True,
        "entities": [{"entity": entity, "name": name} for entity, name in rows],
    }


def _once_paired(card: dict[str, Any]) -> dict[str, Any]:
    """Show the card only once the nearby car has been added (its entities exist)."""
    visibility = [
        {"condition": "state", "entity": NEARBY_BLUETOOTH_CONNECTION, "state_not": "unavailable"}
    ]
    return {**card, "visibility": visibility}


def _section(*cards: dict[str, Any]) -> dict[str, Any]:
    return {"type": "grid", "cards": list(cards)}


def dashboard() -> dict[str, Any]:
    """Return the Lovelace configuration of the demo's default dashboard."""
    return {
        "title": "Tesla Resilient",
        "views": [
            {
                "title": "Outage story",
                "path": "story",
                "icon": "mdi:car-connected",
                "type": "sections",
                "max_columns": 4,
                "sections": [
                    _section(
                        _heading("1 · Simulated world", "mdi:earth"),
                        {"type": "markdown", "content": STORY},
                        _entities(
                            (CLOUD_OUTAGE, "Cloud outage"),
                            (OUTAGE_KIND, "Outage kind"),
                            (IN_BLUETOOTH_RANGE, "In Bluetooth range"),
                            (ASLEEP, "Asleep"),
                            (TAP_KEY_CARD, "Tap key card"),
                        ),
                    ),
                    _section(
                        _heading("2 · Tesla cloud", "mdi:cloud-outline"),
                        _tile(TESLA_CLOUD, "Tesla cloud"),
                        _tile(TESLA_CLOUD_STATUS, "Cloud status"),
                        _tile(CLOUD_CONNECTION, "Car's cloud connection"),
                        _tile(ESTIMATED_CLOUD_COST, "Estimated cloud cost"),
                    ),
                    _section(
                        _heading("3 · Bluetooth", "mdi:bluetooth"),
                        _tile(BLUETOOTH_CONNECTION, "Bluetooth connection"),
                        _tile(LAST_COMMAND_ROUTE, "Last command route"),
                    ),
                    _section(
                        _heading("4 · Demo Model 3", "mdi:car-electric"),
                        _entities(
                            (DOOR_LOCK, "Door lock"),
                            (CLIMATE, "Climate"),
                            (CHARGE_LIMIT, "Charge limit"),
                            (TRUNK, "Trunk"),
                            (HONK, "Honk horn"),
                        ),
                        _tile(BATTERY, "Battery", wide=False),
                        _tile(BATTERY_RANGE, "Range", wide=False),
                        _tile(CHARGING, "Charging", wide=False),
                    ),
                    _section(
                        _heading("5 · Nearby Model Y, Bluetooth only", "mdi:car-key"),
                        {"type": "markdown", "content": NEARBY_STORY},
                        _entities(
                            (NEARBY_TAP_KEY_CARD, "Tap Model Y's key card"),
                            (NEARBY_IN_BLUETOOTH_RANGE, "Model Y in Bluetooth range"),
                        ),
                        _once_paired(_entities((NEARBY_DOOR_LOCK, "Model Y doors"))),
                        _once_paired(_tile(NEARBY_BLUETOOTH_CONNECTION, "Model Y Bluetooth")),
                        _once_paired(
                            _tile(NEARBY_LAST_COMMAND_ROUTE, "Model Y last command route")
                        ),
                    ),
                ],
            }
        ],
    }
