"""Tests for command routing and the never-twice rule."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.tesla_resilient.router import (
    COMMANDS,
    UNKNOWN_COMMAND,
    AttemptResult,
    Command,
    CommandResult,
    Delivery,
    Route,
    RoutePreference,
    command_class,
    execute,
    may_try_next,
    plan,
)

CLOUD = Route.CLOUD
BLE = Route.BLUETOOTH

FLEET_API_COMMANDS = {
    "door_lock",
    "door_unlock",
    "actuate_trunk",
    "auto_conditioning_start",
    "auto_conditioning_stop",
    "set_temps",
    "charge_start",
    "charge_stop",
    "set_charge_limit",
    "set_charging_amps",
    "charge_port_door_open",
    "charge_port_door_close",
    "unlock_charge_port",
    "flash_lights",
    "honk_horn",
    "set_sentry_mode",
    "window_control",
    "wake_up",
}


def _run[T](coro: Coroutine[Any, Any, T]) -> T:
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the fake car never suspends")


def test_table_holds_every_command_the_integration_sends() -> None:
    assert set(COMMANDS) == FLEET_API_COMMANDS
    assert {str(command) for command in Command} == FLEET_API_COMMANDS


def test_only_toggles_and_signals_are_unsafe_to_repeat() -> None:
    unsafe = {name for name, found in COMMANDS.items() if not found.idempotent}

    assert unsafe == {"actuate_trunk", "flash_lights", "honk_horn"}


def test_every_command_can_go_over_both_links() -> None:
    assert all(found.routes == {CLOUD, BLE} for found in COMMANDS.values())


def test_unknown_command_is_unsafe_to_repeat_and_cloud_only() -> None:
    assert command_class("remote_boombox") is UNKNOWN_COMMAND
    assert UNKNOWN_COMMAND.routes == {CLOUD}
    assert plan(
        "remote_boombox",
        RoutePreference.BLUETOOTH_FIRST,
        cloud_commands_up=True,
        bluetooth_ready=True,
    ) == [CLOUD]
    assert (
        plan(
            "remote_boombox",
            RoutePreference.BLUETOOTH_ONLY,
            cloud_commands_up=True,
            bluetooth_ready=True,
        )
        == []
    )


@pytest.mark.parametrize(
    ("preference", "cloud_up", "ble_ready", "expected"),
    [
        (RoutePreference.AUTOMATIC, True, True, [BLE, CLOUD]),
        (RoutePreference.AUTOMATIC, False, True, [BLE, CLOUD]),
        (RoutePreference.AUTOMATIC, True, False, [CLOUD, BLE]),
        (RoutePreference.AUTOMATIC, False, False, [BLE, CLOUD]),
        (RoutePreference.CLOUD_ONLY, True, True, [CLOUD]),
        (RoutePreference.CLOUD_ONLY, False, True, [CLOUD]),
        (RoutePreference.BLUETOOTH_ONLY, True, True, [BLE]),
        (RoutePreference.BLUETOOTH_ONLY, True, False, [BLE]),
        (RoutePreference.BLUETOOTH_FIRST, True, False, [BLE, CLOUD]),
        (RoutePreference.BLUETOOTH_FIRST, False, True, [BLE, CLOUD]),
    ],
)
def test_plan(
    preference: RoutePreference, cloud_up: bool, ble_ready: bool, expected: list[Route]
) -> None:
    assert (
        plan(Command.DOOR_LOCK, preference, cloud_commands_up=cloud_up, bluetooth_ready=ble_ready)
        == expected
    )


def test_automatic_is_the_default_preference_value() -> None:
    assert RoutePreference("automatic") is RoutePreference.AUTOMATIC
    assert [str(p) for p in RoutePreference] == [
        "automatic",
        "cloud_only",
        "bluetooth_only",
        "bluetooth_first",
    ]


@pytest.mark.parametrize(
    ("command", "delivery", "allowed"),
    [
        (Command.HONK_HORN, Delivery.NOT_SENT, True),
        (Command.HONK_HORN, Delivery.MAYBE_DELIVERED, False),
        (Command.DOOR_LOCK, Delivery.MAYBE_DELIVERED, True),
        (Command.DOOR_LOCK, Delivery.REJECTED, False),
        (Command.DOOR_LOCK, Delivery.CONFIRMED, False),
        ("remote_boombox", Delivery.MAYBE_DELIVERED, False),
    ],
)
def test_may_try_next(command: str, delivery: Delivery, allowed: bool) -> None:
    assert may_try_next(command, delivery) is allowed


@dataclass
class FakeCar:
    """Plays one scripted outcome per attempt and counts how often the car really ran it."""

    script: dict[Route, tuple[Delivery, bool]]
    executions: int = 0
    tried: list[Route] = field(default_factory=list)

    async def attempt(self, route: Route) -> AttemptResult:
        self.tried.append(route)
        delivery, ran = self.script[route]
        if ran:
            self.executions += 1
        error = None if delivery is Delivery.CONFIRMED else f"{route} {delivery}"
        return AttemptResult(route, delivery, error=error, reason=str(delivery))


_OUTCOMES: list[tuple[Delivery, bool]] = [
    (Delivery.NOT_SENT, False),
    (Delivery.MAYBE_DELIVERED, False),
    (Delivery.MAYBE_DELIVERED, True),
    (Delivery.REJECTED, False),
    (Delivery.CONFIRMED, True),
]


def _check(command: str, routes: Sequence[Route], car: FakeCar, result: CommandResult) -> None:
    idempotent = command_class(command).idempotent
    deliveries = [attempt.delivery for attempt in result.attempts]

    assert car.tried == list(routes[: len(car.tried)])
    assert [attempt.route for attempt in result.attempts] == car.tried
    if not idempotent:
        assert car.executions <= 1
    if car.executions > 1:
        assert Delivery.MAYBE_DELIVERED in deliveries[:-1]
    for delivery in deliveries[:-1]:
        assert delivery is Delivery.NOT_SENT or (
            idempotent and delivery is Delivery.MAYBE_DELIVERED
        )
    if len(car.tried) < len(routes):
        assert not may_try_next(command, deliveries[-1])
    assert result.confirmed is (deliveries[-1:] == [Delivery.CONFIRMED])
    assert result.unconfirmed is (
        Delivery.MAYBE_DELIVERED in deliveries
        and deliveries[-1] in (Delivery.MAYBE_DELIVERED, Delivery.NOT_SENT)
    )
    if result.confirmed:
        assert car.executions >= 1
        assert result.error is None
    assert result.route == (car.tried[-1] if car.tried else None)
    assert result.delivery == (deliveries[-1] if deliveries else None)


def test_no_command_runs_twice_for_any_combination() -> None:
    flags = list(itertools.product([True, False], repeat=2))
    for command, preference, (cloud_up, ble_ready), cloud, ble in itertools.product(
        Command, RoutePreference, flags, _OUTCOMES, _OUTCOMES
    ):
        routes = plan(command, preference, cloud_commands_up=cloud_up, bluetooth_ready=ble_ready)
        car = FakeCar({CLOUD: cloud, BLE: ble})
        _check(command, routes, car, _run(execute(command, routes, car.attempt)))


@given(
    command=st.sampled_from([*Command, "remote_boombox"]),
    preference=st.sampled_from(list(RoutePreference)),
    cloud_up=st.booleans(),
    ble_ready=st.booleans(),
    cloud=st.sampled_from(_OUTCOMES),
    ble=st.sampled_from(_OUTCOMES),
    repeat=st.booleans(),
)
def test_property_never_twice_by_accident(
    command: str,
    preference: RoutePreference,
    cloud_up: bool,
    ble_ready: bool,
    cloud: tuple[Delivery, bool],
    ble: tuple[Delivery, bool],
    repeat: bool,
) -> None:
    routes = plan(command, preference, cloud_commands_up=cloud_up, bluetooth_ready=ble_ready)
    assert len(set(routes)) == len(routes)
    car = FakeCar({CLOUD: cloud, BLE: ble})
    offered = routes * 2 if repeat else routes

    result = _run(execute(command, offered, car.attempt))

    _check(command, routes, car, result)


async def test_not_sent_moves_on_and_confirms_on_the_next_link() -> None:
    car = FakeCar({BLE: (Delivery.NOT_SENT, False), CLOUD: (Delivery.CONFIRMED, True)})

    result = await execute(Command.HONK_HORN, [BLE, CLOUD], car.attempt)

    assert result.confirmed
    assert result.route is CLOUD
    assert [a.delivery for a in result.attempts] == [Delivery.NOT_SENT, Delivery.CONFIRMED]
    assert result.error is None
    assert car.executions == 1


async def test_unsafe_command_that_may_have_arrived_is_reported_unconfirmed() -> None:
    car = FakeCar({CLOUD: (Delivery.MAYBE_DELIVERED, True), BLE: (Delivery.CONFIRMED, True)})

    result = await execute(Command.ACTUATE_TRUNK, [CLOUD, BLE], car.attempt)

    assert not result.confirmed
    assert result.unconfirmed
    assert result.route is CLOUD
    assert result.error == "cloud maybe_delivered"
    assert car.tried == [CLOUD]
    assert car.executions == 1


async def test_idempotent_command_that_may_have_arrived_tries_the_next_link() -> None:
    car = FakeCar({CLOUD: (Delivery.MAYBE_DELIVERED, False), BLE: (Delivery.CONFIRMED, True)})

    result = await execute(Command.DOOR_LOCK, [CLOUD, BLE], car.attempt)

    assert result.confirmed
    assert result.route is BLE
    assert car.tried == [CLOUD, BLE]


async def test_a_fallback_that_was_not_sent_keeps_the_command_unconfirmed() -> None:
    car = FakeCar({CLOUD: (Delivery.MAYBE_DELIVERED, True), BLE: (Delivery.NOT_SENT, False)})

    result = await execute(Command.DOOR_LOCK, [CLOUD, BLE], car.attempt)

    assert not result.confirmed
    assert result.unconfirmed
    assert result.route is BLE
    assert car.executions == 1


async def test_a_refusal_by_the_car_stops() -> None:
    car = FakeCar({BLE: (Delivery.REJECTED, False), CLOUD: (Delivery.CONFIRMED, True)})

    result = await execute(Command.CHARGE_START, [BLE, CLOUD], car.attempt)

    assert not result.confirmed
    assert not result.unconfirmed
    assert result.delivery is Delivery.REJECTED
    assert result.reason == "rejected"
    assert result.error == "bluetooth rejected"
    assert car.tried == [BLE]


async def test_every_link_failing_reports_the_last_error() -> None:
    car = FakeCar({BLE: (Delivery.NOT_SENT, False), CLOUD: (Delivery.NOT_SENT, False)})

    result = await execute(Command.DOOR_UNLOCK, [BLE, CLOUD], car.attempt)

    assert not result.confirmed
    assert result.route is CLOUD
    assert result.error == "cloud not_sent"
    assert len(result.attempts) == 2


async def test_error_falls_back_to_an_earlier_attempt() -> None:
    async def attempt(route: Route) -> AttemptResult:
        if route is BLE:
            return AttemptResult(route, Delivery.NOT_SENT, error=TimeoutError("no slot"))
        return AttemptResult(route, Delivery.REJECTED, reason="user present")

    result = await execute(Command.WINDOW_CONTROL, [BLE, CLOUD], attempt)

    assert isinstance(result.error, TimeoutError)
    assert result.reason == "user present"


async def test_no_routes_means_nothing_is_tried() -> None:
    result = await execute(Command.FLASH_LIGHTS, [], FakeCar({}).attempt)

    assert result == CommandResult(Command.FLASH_LIGHTS, None, confirmed=False, attempts=())
    assert result.delivery is None
    assert result.reason is None
    assert not result.unconfirmed


async def test_attempts_really_await_and_exceptions_stop_the_command() -> None:
    tried: list[Route] = []

    async def attempt(route: Route) -> AttemptResult:
        tried.append(route)
        await asyncio.sleep(0)
        raise RuntimeError("link crashed")

    with pytest.raises(RuntimeError, match="link crashed"):
        await execute(Command.DOOR_LOCK, [BLE, CLOUD], attempt)
    assert tried == [BLE]
