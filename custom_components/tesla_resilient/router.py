"""Which link runs a command, and whether a failed attempt may go on to the other link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Route(StrEnum):
    """A link a command can travel over."""

    CLOUD = "cloud"
    BLUETOOTH = "bluetooth"


class RoutePreference(StrEnum):
    """The per-vehicle choice of links for commands."""

    AUTOMATIC = "automatic"
    CLOUD_ONLY = "cloud_only"
    BLUETOOTH_ONLY = "bluetooth_only"
    BLUETOOTH_FIRST = "bluetooth_first"


BENIGN_REASONS: Final = frozenset({"already_set", "not_charging", "is_charging", "requested"})
"""Refusals, over either link, that mean the car is already where the command wanted it."""


class Command(StrEnum):
    """Every command the integration sends, by its Fleet API name."""

    DOOR_LOCK = "door_lock"
    DOOR_UNLOCK = "door_unlock"
    ACTUATE_TRUNK = "actuate_trunk"
    AUTO_CONDITIONING_START = "auto_conditioning_start"
    AUTO_CONDITIONING_STOP = "auto_conditioning_stop"
    SET_TEMPS = "set_temps"
    CHARGE_START = "charge_start"
    CHARGE_STOP = "charge_stop"
    SET_CHARGE_LIMIT = "set_charge_limit"
    SET_CHARGING_AMPS = "set_charging_amps"
    CHARGE_PORT_DOOR_OPEN = "charge_port_door_open"
    CHARGE_PORT_DOOR_CLOSE = "charge_port_door_close"
    UNLOCK_CHARGE_PORT = "unlock_charge_port"
    FLASH_LIGHTS = "flash_lights"
    HONK_HORN = "honk_horn"
    SET_SENTRY_MODE = "set_sentry_mode"
    WINDOW_CONTROL = "window_control"
    WAKE_UP = "wake_up"


@dataclass(frozen=True, slots=True)
class CommandClass:
    """Whether running a command twice is harmless, and which links can carry it."""

    idempotent: bool
    bluetooth: bool = True
    cloud: bool = True

    @property
    def routes(self) -> frozenset[Route]:
        """The links that can carry the command."""
        return frozenset(
            route
            for route, able in ((Route.CLOUD, self.cloud), (Route.BLUETOOTH, self.bluetooth))
            if able
        )


_SETS_STATE = CommandClass(idempotent=True)
_TOGGLES = CommandClass(idempotent=False)

COMMANDS: Final[Mapping[str, CommandClass]] = MappingProxyType(
    {
        Command.DOOR_LOCK: _SETS_STATE,
        Command.DOOR_UNLOCK: _SETS_STATE,
        Command.ACTUATE_TRUNK: _TOGGLES,
        Command.AUTO_CONDITIONING_START: _SETS_STATE,
        Command.AUTO_CONDITIONING_STOP: _SETS_STATE,
        Command.SET_TEMPS: _SETS_STATE,
        Command.CHARGE_START: _SETS_STATE,
        Command.CHARGE_STOP: _SETS_STATE,
        Command.SET_CHARGE_LIMIT: _SETS_STATE,
        Command.SET_CHARGING_AMPS: _SETS_STATE,
        Command.CHARGE_PORT_DOOR_OPEN: _SETS_STATE,
        Command.CHARGE_PORT_DOOR_CLOSE: _SETS_STATE,
        Command.UNLOCK_CHARGE_PORT: _SETS_STATE,
        Command.FLASH_LIGHTS: _TOGGLES,
        Command.HONK_HORN: _TOGGLES,
        Command.SET_SENTRY_MODE: _SETS_STATE,
        Command.WINDOW_CONTROL: _SETS_STATE,
        Command.WAKE_UP: _SETS_STATE,
    }
)

UNKNOWN_COMMAND: Final = CommandClass(idempotent=False, bluetooth=False)


def command_class(command: str) -> CommandClass:
    """Return how a command may be delivered; an unknown one is unsafe to repeat and cloud only."""
    return COMMANDS.get(command, UNKNOWN_COMMAND)


def plan(
    command: str,
    preference: RoutePreference,
    *,
    cloud_commands_up: bool,
    bluetooth_ready: bool,
) -> list[Route]:
    """Return the links to try, in order.

    Automatic starts with Bluetooth when the car is in range (it is free and local) or when the
    cloud's commands are down, and with the cloud otherwise; the other link follows as the
    fallback. The other preferences are fixed orders. Links that cannot carry the command are left
    out, so the list may be empty.
    """
    match preference:
        case RoutePreference.CLOUD_ONLY:
            order = [Route.CLOUD]
        case RoutePreference.BLUETOOTH_ONLY:
            order = [Route.BLUETOOTH]
        case RoutePreference.BLUETOOTH_FIRST:
            order = [Route.BLUETOOTH, Route.CLOUD]
        case _ if bluetooth_ready or not cloud_commands_up:
            order = [Route.BLUETOOTH, Route.CLOUD]
        case _:
            order = [Route.CLOUD, Route.BLUETOOTH]
    able = command_class(command).routes
    return [route for route in order if route in able]


class Delivery(StrEnum):
    """How far one attempt got."""

    NOT_SENT = "not_sent"
    MAYBE_DELIVERED = "maybe_delivered"
    REJECTED = "rejected"
    CONFIRMED = "confirmed"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One try of a command over one link."""

    route: Route
    delivery: Delivery
    error: object | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What became of a command after every allowed attempt."""

    command: str
    route: Route | None
    confirmed: bool
    attempts: tuple[AttemptResult, ...]
    error: object | None = None

    @property
    def delivery(self) -> Delivery | None:
        """How far the last attempt got (None when no link was tried)."""
        return self.attempts[-1].delivery if self.attempts else None

    @property
    def unconfirmed(self) -> bool:
        """Whether the car may have run the command without our knowing.

        That is so when an attempt may have arrived and nothing after it gave a verdict: a
        fallback that could not even be sent does not make the earlier attempt any less likely
        to have run.
        """
        if self.confirmed or self.delivery is Delivery.REJECTED:
            return False
        return any(attempt.delivery is Delivery.MAYBE_DELIVERED for attempt in self.attempts)

    @property
    def reason(self) -> str | None:
        """The last attempt's explanation, if it gave one."""
        return self.attempts[-1].reason if self.attempts else None


def may_try_next(command: str, delivery: Delivery) -> bool:
    """Whether, after an attempt ended this way, sending the command again cannot do harm."""
    if delivery is Delivery.NOT_SENT:
        return True
    return delivery is Delivery.MAYBE_DELIVERED and command_class(command).idempotent


async def execute(
    command: str,
    routes: Iterable[Route],
    attempt: Callable[[Route], Awaitable[AttemptResult]],
) -> CommandResult:
    """Try the routes in order, each at most once, moving on only when that cannot run it twice.

    An exception from `attempt` propagates and ends the command: nothing further is tried.
    """
    attempts: list[AttemptResult] = []
    for route in dict.fromkeys(routes):
        result = await attempt(route)
        attempts.append(result)
        if not may_try_next(command, result.delivery):
            break
    if not attempts:
        return CommandResult(command, None, confirmed=False, attempts=())
    confirmed = attempts[-1].delivery is Delivery.CONFIRMED
    error = None
    if not confirmed:
        error = next((a.error for a in reversed(attempts) if a.error is not None), None)
    return CommandResult(command, attempts[-1].route, confirmed, tuple(attempts), error)
