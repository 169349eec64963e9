"""The simulator's switches: cloud outage, Bluetooth range and sleep; the nearby car's range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription

from .entity import SimulatorEntity, simulator_platform
from .hub import SimulatorHub

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SimulatorSwitchDescription(SwitchEntityDescription):
    """A switch: how to read it and how to flip it."""

    is_on_fn: Callable[[SimulatorHub], bool]
    set_fn: Callable[[SimulatorHub, bool], None]


SWITCHES: tuple[SimulatorSwitchDescription, ...] = (
    SimulatorSwitchDescription(
        key="cloud_outage",
        translation_key="cloud_outage",
        is_on_fn=lambda hub: hub.outage,
        set_fn=SimulatorHub.set_outage,
    ),
    SimulatorSwitchDescription(
        key="in_bluetooth_range",
        translation_key="in_bluetooth_range",
        is_on_fn=lambda hub: hub.in_bluetooth_range,
        set_fn=SimulatorHub.set_in_bluetooth_range,
    ),
    SimulatorSwitchDescription(
        key="asleep",
        translation_key="asleep",
        is_on_fn=lambda hub: hub.asleep,
        set_fn=SimulatorHub.set_asleep,
    ),
)

NEARBY_CAR_SWITCHES: tuple[SimulatorSwitchDescription, ...] = (
    SimulatorSwitchDescription(
        key="in_bluetooth_range",
        translation_key="in_bluetooth_range",
        is_on_fn=lambda hub: hub.nearby is not None and hub.nearby.in_bluetooth_range,
        set_fn=SimulatorHub.set_nearby_in_bluetooth_range,
    ),
)


class SimulatorSwitch(SimulatorEntity, SwitchEntity):
    """A switch that changes the simulated world."""

    entity_description: SimulatorSwitchDescription

    @property
    def is_on(self) -> bool:
        """Whether the switch is on."""
        return self.entity_description.is_on_fn(self.hub)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn the switch on."""
        self.entity_description.set_fn(self.hub, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the switch off."""
        self.entity_description.set_fn(self.hub, False)


async_setup_entry = simulator_platform(SimulatorSwitch, SWITCHES, NEARBY_CAR_SWITCHES)
