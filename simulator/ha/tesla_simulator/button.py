"""The simulator's key cards: one for the account's car, one for the nearby car."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription

from .entity import SimulatorEntity, simulator_platform
from .hub import SimulatorHub

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SimulatorButtonDescription(ButtonEntityDescription):
    """A button and what pressing it does."""

    press_fn: Callable[[SimulatorHub], None]


BUTTONS: tuple[SimulatorButtonDescription, ...] = (
    SimulatorButtonDescription(
        key="tap_key_card",
        translation_key="tap_key_card",
        press_fn=SimulatorHub.tap_key_card,
    ),
)

NEARBY_CAR_BUTTONS: tuple[SimulatorButtonDescription, ...] = (
    SimulatorButtonDescription(
        key="tap_key_card",
        translation_key="tap_key_card",
        press_fn=SimulatorHub.tap_nearby_key_card,
    ),
)


class SimulatorButton(SimulatorEntity, ButtonEntity):
    """A button that acts on the simulated world."""

    entity_description: SimulatorButtonDescription

    async def async_press(self) -> None:
        """Press the button."""
        self.entity_description.press_fn(self.hub)


async_setup_entry = simulator_platform(SimulatorButton, BUTTONS, NEARBY_CAR_BUTTONS)
