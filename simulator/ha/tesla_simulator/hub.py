"""The simulator's switchboard: the virtual car, its simulated cloud and its Bluetooth face."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar

WAKE_VIA = "simulator"


class OutageKind(StrEnum):
    """The cloud outages the demo can stage."""

    FULL = "full"
    REFUSED = "refused"
    BLACK_HOLE = "black_hole"
    DATA_ONLY = "data_only"
    COMMANDS_ONLY = "commands_only"
    STALE_DATA = "stale_data"
    SLOW = "slow"
    RATE_LIMITED = "rate_limited"


FAULTS: dict[OutageKind, FaultKind] = {
    OutageKind.FULL: FaultKind.SERVER_ERROR,
    OutageKind.REFUSED: FaultKind.REFUSED,
    OutageKind.BLACK_HOLE: FaultKind.BLACK_HOLE,
    OutageKind.DATA_ONLY: FaultKind.DATA_ONLY,
    OutageKind.COMMANDS_ONLY: FaultKind.COMMANDS_ONLY,
    OutageKind.STALE_DATA: FaultKind.STALE_DATA,
    OutageKind.SLOW: FaultKind.SLOW,
    OutageKind.RATE_LIMITED: FaultKind.RATE_LIMITED,
}
"""The Fleet API fault that plays each outage; a full outage answers 503 to everything."""


class BluetoothFace(Protocol):
    """The car's Bluetooth side (virtual BLE car behind a virtual proxy) as the hub drives it."""

    def set_in_range(self, in_range: bool) -> None:
        """Make the car reachable over Bluetooth, or take it out of reach."""

    def tap_key_card(self) -> None:
        """Tap a key card on the centre console, confirming a pending key pairing."""


@dataclass
class NearbyCar:
    """A second car parked nearby: no Tesla account, only its Bluetooth face behind a proxy."""

    car: VirtualCar
    bluetooth: BluetoothFace
    in_bluetooth_range: bool = True
    key_card_taps: int = 0


@dataclass
class SimulatorHub:
    """Everything the simulator's entities control, and who to tell when any of it changes."""

    car: VirtualCar
    fleet_api: FleetApiSimulator
    bluetooth: BluetoothFace | None = None
    nearby: NearbyCar | None = None
    outage: bool = False
    outage_kind: OutageKind = OutageKind.FULL
    in_bluetooth_range: bool = True
    key_card_taps: int = 0
    _listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def attach(self) -> Callable[[], None]:
        """Follow the car's changes; returns the function that stops following them."""
        self.car.listeners.append(self._notify)
        return lambda: self.car.listeners.remove(self._notify)

    def connect_bluetooth(self, face: BluetoothFace) -> None:
        """Plug in the car's Bluetooth side, in or out of range as the range switch says."""
        self.bluetooth = face
        face.set_in_range(self.in_bluetooth_range)

    def add_nearby_car(self, nearby: NearbyCar) -> Callable[[], None]:
        """Park the Bluetooth-only car nearby; returns the function that stops following it."""
        self.nearby = nearby
        nearby.bluetooth.set_in_range(nearby.in_bluetooth_range)
        nearby.car.listeners.append(self._notify)
        return lambda: nearby.car.listeners.remove(self._notify)

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` after every change; returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def asleep(self) -> bool:
        """Whether the car sleeps and nobody has asked it to wake up."""
        return self.car.asleep and self.car.waking_until is None

    def refresh(self) -> None:
        """Let the car's time pass: finish a wake-up, or fall asleep after idling."""
        _ = self.car.state
        if self.nearby is not None:
            _ = self.nearby.car.state

    def set_outage(self, outage: bool) -> None:
        """Start the selected outage, or end the outage."""
        self.outage = outage
        self._apply_fault()
        self._notify()

    def set_outage_kind(self, kind: OutageKind) -> None:
        """Choose the outage to stage; a running outage switches to it at once."""
        self.outage_kind = kind
        self._apply_fault()
        self._notify()

    def set_asleep(self, asleep: bool) -> None:
        """Put the car to sleep at once, or start waking it up."""
        if asleep:
            self.car.sleep_now()
        else:
            self.car.wake(WAKE_VIA)
        self._notify()

    def set_in_bluetooth_range(self, in_range: bool) -> None:
        """Move the car into or out of Bluetooth range."""
        self.in_bluetooth_range = in_range
        if self.bluetooth is not None:
            self.bluetooth.set_in_range(in_range)
        self._notify()

    def tap_key_card(self) -> None:
        """Tap the key card on the car."""
        self.key_card_taps += 1
        if self.bluetooth is not None:
            self.bluetooth.tap_key_card()
        self._notify()

    def set_nearby_in_bluetooth_range(self, in_range: bool) -> None:
        """Move the nearby car into or out of Bluetooth range."""
        if self.nearby is None:
            return
        self.nearby.in_bluetooth_range = in_range
        self.nearby.bluetooth.set_in_range(in_range)
        self._notify()

    def tap_nearby_key_card(self) -> None:
        """Tap the key card on the nearby car."""
        if self.nearby is None:
            return
        self.nearby.key_card_taps += 1
        self.nearby.bluetooth.tap_key_card()
        self._notify()

    def _apply_fault(self) -> None:
        if self.outage:
            self.fleet_api.set_fault(FAULTS[self.outage_kind])
        else:
            self.fleet_api.clear_fault()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
