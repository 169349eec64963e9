"""Fault matrix, cloud half: every way the Tesla cloud fails, crossed with what a user does.

Each cell sets up an account entry without a Bluetooth key, so every read and command goes through
the simulated Fleet API, breaks the cloud one way, lets the user read, lock the doors (safe to
repeat) or honk (not safe to repeat), then heals the cloud and checks that everything recovers.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from unittest.mock import patch

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.lock import SERVICE_UNLOCK, LockState
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_ACCESS_TOKEN,
    CONF_TOKEN,
    CONF_URL,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.cloud import CloudLink
from custom_components.tesla_resilient.cloud_session import (
    DATA_CLOUD_SESSION,
    REQUEST_TIMEOUTS,
    trace_config,
)
from custom_components.tesla_resilient.const import (
    CLOUD_FIELD_MAX_AGE,
    DATA_INTERVAL_IDLE,
    DOMAIN,
)
from custom_components.tesla_resilient.health import AccountHealth
from custom_components.tesla_resilient.tokens import token_subject
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar
from tests.faults.harness import Cell
from tests.integration.common import (
    Advance,
    application_key_on_cars,
    entity_id,
    lock_doors,
    requests_to,
    state_of,
)
from tests.integration.conftest import advance, bluetooth, credentials, sim_clock

__all__ = ["advance", "bluetooth", "credentials", "sim_clock"]

pytestmark = pytest.mark.freeze_time(tick=True)

STRINGS: Final = json.loads(
    (Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json").read_text()
)
EXCEPTION_KEYS: Final = frozenset(STRINGS["exceptions"])

BEFORE: Final = 72
"""The battery level the car reports when the entry is set up."""
DURING: Final = 65
"""The battery level the car moves to while the cloud is failing."""
RETRY_AFTER_S: Final = 30
AUTH_REJECTED: Final = ("Authentication failed", "rejected the credentials")
"""Log fragments of a rejected account: Home Assistant asks the user to sign in again."""

SIMULATOR_HOST: Final = "fleet-api.sim.test"
"""The name the account's link reaches the simulated Fleet API by, so its lookup can fail."""


class Action(StrEnum):
    """What the user does while the cloud fails."""

    READ = "read"
    LOCK = "lock"
    HONK = "honk"


@dataclass(frozen=True, slots=True)
class Fault:
    """One way the cloud fails, and what a user must see under it."""

    name: str
    start: Callable[[Env], None]
    stop: Callable[[Env], None]
    reads: bool
    """Whether fresh data gets through while the fault lasts (at least now and then)."""
    ages_out: bool
    """Whether cloud values must go unavailable once the fault outlasts CLOUD_FIELD_MAX_AGE."""
    command_keys: frozenset[str | None]
    """Translation keys a command may fail with; None means it may succeed."""
    reaches_car: bool = False
    """Whether a command the user sends runs on the car although it fails."""
    revoked: bool = False
    """Whether the account must sign in again before it works."""
    placeholders: dict[str, str] = field(default_factory=dict)
    lasted_s: float = 1.0
    """How long the fault lasts before the user acts."""
    holds: bool = False
    """Whether requests wait unanswered for a timeout (real time passes for each of those)."""

    def begin(self, env: Env) -> None:
        """Start the fault; one that holds requests unanswered gets short timeouts meanwhile."""
        if self.holds:
            env.timeouts.enter_context(_short_timeouts())
        self.start(env)

    def end(self, env: Env) -> None:
        """End the fault and give the recovery the integration's real timeouts again."""
        self.stop(env)
        env.timeouts.close()


HOLDING_KINDS: Final = frozenset(
    {FaultKind.BLACK_HOLE, FaultKind.COMMAND_TIMEOUT_AFTER_EXECUTE, FaultKind.CONNECT_TIMEOUT}
)
"""Simulator faults that hold requests unanswered."""


@dataclass(slots=True)
class Env:
    """What a fault acts on."""

    hass: HomeAssistant
    api: FleetApiSimulator
    entry: MockConfigEntry
    dns: SimulatorResolver
    timeouts: ExitStack = field(default_factory=ExitStack)

    @property
    def link(self) -> CloudLink:
        """The account's cloud link."""
        link = self.entry.runtime_data.account.link
        assert link is not None
        return link

    def point_link_at(self, url: str) -> None:
        """Make the link send its requests to `url` (the path between it and Tesla broke)."""
        self.link.base_url = url


def _sim(kind: FaultKind, **params: float) -> Callable[[Env], None]:
    def start(env: Env) -> None:
        env.api.set_fault(kind, **params)

    return start


def _clear(env: Env) -> None:
    env.api.clear_fault()


def _unresolvable(env: Env) -> None:
    env.dns.failing = True


def _resolvable(env: Env) -> None:
    env.dns.failing = False


def _tls_to_plain_http(env: Env) -> None:
    env.point_link_at(f"https://{env.api.host}:{env.api.port}")


def _restore_link(env: Env) -> None:
    env.point_link_at(env.entry.data[CONF_URL])


NOT_SENT: Final = frozenset({"cloud_unreachable"})
UNCONFIRMED: Final = frozenset({"command_unconfirmed"})
WORKS: Final = frozenset[str | None]({None})


def _fault(
    name: str,
    kind: FaultKind | None = None,
    *,
    reads: bool,
    ages_out: bool,
    command_keys: frozenset[str | None] | frozenset[str],
    reaches_car: bool = False,
    revoked: bool = False,
    start: Callable[[Env], None] | None = None,
    stop: Callable[[Env], None] = _clear,
    placeholders: dict[str, str] | None = None,
    lasted_s: float = 1.0,
    **params: float,
) -> Any:
    assert (kind is None) != (start is None)
    fault = Fault(
        name,
        start or _sim(kind or FaultKind.NONE, **params),
        stop,
        reads,
        ages_out,
        frozenset(command_keys),
        reaches_car,
        revoked,
        placeholders or {},
        lasted_s,
        holds=kind in HOLDING_KINDS,
    )
    return pytest.param(fault, id=name)


def _http(status: int) -> Any:
    return _fault(
        f"http_{status}",
        FaultKind.SERVER_ERROR,
        reads=False,
        ages_out=True,
        command_keys=UNCONFIRMED,
        status=status,
    )


FAULTS: Final = [
    _fault(
        "connection_refused",
        FaultKind.REFUSED,
        reads=False,
        ages_out=True,
        command_keys=NOT_SENT,
        lasted_s=60,
    ),
    _fault(
        "dns_failure",
        start=_unresolvable,
        stop=_resolvable,
        reads=False,
        ages_out=True,
        command_keys=NOT_SENT,
    ),
    _fault(
        "tls_error",
        start=_tls_to_plain_http,
        stop=_restore_link,
        reads=False,
        ages_out=True,
        command_keys=NOT_SENT,
    ),
    _fault(
        "timeout_before_server",
        FaultKind.CONNECT_TIMEOUT,
        reads=False,
        ages_out=True,
        command_keys=NOT_SENT,
        lasted_s=60,
    ),
    _fault(
        "timeout_after_execute",
        FaultKind.COMMAND_TIMEOUT_AFTER_EXECUTE,
        reads=True,
        ages_out=False,
        command_keys=UNCONFIRMED,
        reaches_car=True,
    ),
    _fault(
        "no_answer",
        FaultKind.BLACK_HOLE,
        reads=False,
        ages_out=True,
        command_keys=UNCONFIRMED,
    ),
    _http(500),
    _http(502),
    _http(503),
    _http(504),
    _fault(
        "rate_limited_429",
        FaultKind.RATE_LIMITED,
        reads=False,
        ages_out=True,
        command_keys=frozenset({"command_rate_limited"}),
        placeholders={"seconds": str(RETRY_AFTER_S)},
        retry_after_s=RETRY_AFTER_S,
    ),
    _fault(
        "401_refresh_works",
        FaultKind.TOKEN_EXPIRED,
        reads=True,
        ages_out=False,
        command_keys=WORKS,
    ),
    _fault(
        "401_refresh_fails",
        FaultKind.TOKEN_REVOKED,
        reads=False,
        ages_out=False,
        command_keys=frozenset({"auth_failed"}),
        revoked=True,
    ),
    _fault(
        "408_vehicle_offline",
        FaultKind.VEHICLE_OFFLINE,
        reads=False,
        ages_out=False,
        command_keys=frozenset({"vehicle_unreached"}),
    ),
    _fault(
        "malformed_json",
        FaultKind.MALFORMED_JSON,
        reads=False,
        ages_out=True,
        command_keys=UNCONFIRMED,
        reaches_car=True,
    ),
    _fault(
        "missing_fields",
        FaultKind.MISSING_FIELDS,
        reads=False,
        ages_out=True,
        command_keys=UNCONFIRMED,
        reaches_car=True,
    ),
    _fault(
        "html_error_page",
        FaultKind.HTML_ERROR,
        reads=False,
        ages_out=True,
        command_keys=UNCONFIRMED,
    ),
    _fault(
        "data_only_outage",
        FaultKind.DATA_ONLY,
        reads=False,
        ages_out=True,
        command_keys=WORKS,
    ),
    _fault(
        "commands_only_outage",
        FaultKind.COMMANDS_ONLY,
        reads=True,
        ages_out=False,
        command_keys=UNCONFIRMED,
    ),
    _fault(
        "stale_data",
        FaultKind.STALE_DATA,
        reads=False,
        ages_out=True,
        command_keys=WORKS,
    ),
    _fault(
        "flapping",
        FaultKind.FLAPPING,
        reads=True,
        ages_out=False,
        command_keys=UNCONFIRMED | WORKS,
        period_s=7,
    ),
]


# -- fixtures ------------------------------------------------------------------------------------


@contextmanager
def _short_timeouts() -> Generator[None]:
    """Let a cloud that never answers or never accepts time out in milliseconds.

    Only faults that hold requests get these: a healthy loopback answer on a busy machine may
    take longer.
    """
    with (
        patch("custom_components.tesla_resilient.cloud.REQUEST_TIMEOUT", 0.1),
        patch.object(AccountHealth, "probe_timeout", 0.1),
        patch.object(AccountHealth, "heartbeat_timeout", 0.1),
    ):
        yield


class SimulatorResolver(AbstractResolver):
    """Resolves the simulator's name to the loopback address, or fails as a missing name does."""

    def __init__(self) -> None:
        self.failing = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != SIMULATOR_HOST or self.failing:
            raise OSError(socket.EAI_NONAME, f"{host}: name does not resolve")
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
async def dns(hass: HomeAssistant) -> AsyncGenerator[SimulatorResolver]:
    """The cloud session's name lookups, given to the integration before it sets up."""
    resolver = SimulatorResolver()
    session = aiohttp.ClientSession(
        # Every request looks its host up, as a new connection after a cached lookup expired does.
        connector=aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, force_close=True),
        timeout=REQUEST_TIMEOUTS,
        trace_configs=[trace_config()],
    )
    hass.data[DATA_CLOUD_SESSION] = session
    try:
        yield resolver
    finally:
        await session.close()


@pytest.fixture
async def account(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    sim_clock: FakeClock,
    credentials: None,
    dns: SimulatorResolver,
    tmp_path: Path,
) -> AsyncGenerator[MockConfigEntry]:
    """An account signed in through OAuth, without a Bluetooth key: the cloud is the only link.

    Its commands are signed with the application's key, which the car has.
    """
    token = fleet_api.access_token
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Demo account",
        unique_id=token_subject(token),
        options=application_key_on_cars(hass, fleet_api, tmp_path),
        data={
            "auth_implementation": "sim",
            CONF_URL: f"http://{SIMULATOR_HOST}:{fleet_api.port}",
            CONF_TOKEN: _token(fleet_api),
        },
    )
    entry.add_to_hass(hass)
    with patch(
        "custom_components.tesla_resilient.application_credentials.TOKEN_URL",
        f"{fleet_api.base_url}/oauth2/v3/token",
    ):
        yield entry


def _token(api: FleetApiSimulator) -> dict[str, Any]:
    """A token as Home Assistant stores it after a sign-in, valid for the simulator's lifetime."""
    return {
        CONF_ACCESS_TOKEN: api.access_token,
        "refresh_token": api.refresh_token,
        "expires_at": time.time() + api.token_lifetime_s,
        "token_type": "Bearer",
    }


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def _sign_in_again(
    hass: HomeAssistant, api: FleetApiSimulator, entry: MockConfigEntry
) -> None:
    """What finishing the reauth flow does: store the new sign-in's tokens and reload."""
    for flow in hass.config_entries.flow.async_progress():
        if flow["context"].get("source") == SOURCE_REAUTH:
            hass.config_entries.flow.async_abort(flow["flow_id"])
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_TOKEN: _token(api)})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


def _reauth_started(hass: HomeAssistant) -> bool:
    return any(
        flow["context"].get("source") == SOURCE_REAUTH
        for flow in hass.config_entries.flow.async_progress()
    )


@contextmanager
def _noting(cell: Cell, what: str) -> Iterator[None]:
    """Record anything the block raises as a failed check instead of ending the cell."""
    try:
        yield
    except Exception as err:
        cell.check(False, f"{what} raised {type(err).__name__}: {err}")


# -- the user's actions --------------------------------------------------------------------------


async def _press(hass: HomeAssistant, button: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN,
        SERVICE_PRESS,
        {ATTR_ENTITY_ID: entity_id(hass, "button", button)},
        blocking=True,
    )


async def _honk(hass: HomeAssistant) -> None:
    await _press(hass, "honk")


COMMANDS: Final[dict[Action, tuple[str, Callable[[HomeAssistant], Awaitable[None]]]]] = {
    Action.LOCK: ("door_lock", lock_doors),
    Action.HONK: ("honk_horn", _honk),
}


async def _flash(hass: HomeAssistant) -> None:
    await _press(hass, "flash_lights")


async def _unlock(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        LOCK_DOMAIN,
        SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: entity_id(hass, "lock", "doors")},
        blocking=True,
    )


SESSION_OPENERS: Final[dict[Action, Callable[[HomeAssistant], Awaitable[None]]]] = {
    Action.LOCK: _unlock,
    Action.HONK: _flash,
}
"""A working command to the same domain of the car before the fault: the cell then tests the
command's own request, signed in a session the car already gave (a first command after start-up
asks for that session first, and a fault that stops it is told apart as "not sent")."""


def _runs(car: VirtualCar, command: str) -> int:
    return car.executions[f"cloud:{command}"] + car.executions[f"ble:{command}"]


def _battery(hass: HomeAssistant) -> str:
    return str(state_of(hass, "sensor", "battery_level").state)


async def _attempt(
    hass: HomeAssistant, run: Callable[[HomeAssistant], Awaitable[None]]
) -> HomeAssistantError | None:
    try:
        await run(hass)
    except HomeAssistantError as err:
        return err
    return None


# -- the cells -----------------------------------------------------------------------------------


async def _read_cell(
    cell: Cell, hass: HomeAssistant, env: Env, car: VirtualCar, fault: Fault, advance: Advance
) -> None:
    """Poll through the fault: old or fresh values only, gone once too old, back afterwards."""
    fault.begin(env)
    car.battery_level = DURING
    await advance(DATA_INTERVAL_IDLE.total_seconds() + 60)
    shown: list[str] = [_battery(hass)]
    for _ in range(5):
        await advance(60)
        shown.append(_battery(hass))
    allowed = {str(BEFORE), str(DURING)} if fault.reads else {str(BEFORE)}
    cell.check(set(shown) <= allowed, f"battery shown during the fault: {shown}, allowed {allowed}")
    if fault.reads:
        cell.check(shown[-1] == str(DURING), f"fresh data never got through: {shown}")
    if fault.name == "408_vehicle_offline":
        asleep = state_of(hass, "binary_sensor", "asleep").state
        cell.check(asleep == "on", f"a car the cloud cannot reach shows asleep {asleep}")
    if fault.revoked:
        cell.check(_reauth_started(hass), "a revoked sign-in started no reauth flow")
    if fault.ages_out:
        await advance(CLOUD_FIELD_MAX_AGE.total_seconds())
        aged = _battery(hass)
        cell.check(aged == STATE_UNAVAILABLE, f"battery still {aged} after the fault outlasted 6 h")
    await _heal(cell, hass, env, fault, advance)
    with _noting(cell, "reading after recovery"):
        await advance(DATA_INTERVAL_IDLE.total_seconds())
    recovered = _battery(hass)
    cell.check(recovered == str(car.battery_level), f"battery {recovered} after recovery")
    lock = state_of(hass, "lock", "doors").state
    cell.check(lock == LockState.LOCKED, f"doors {lock} after recovery, the car is locked")


async def _heal(cell: Cell, hass: HomeAssistant, env: Env, fault: Fault, advance: Advance) -> None:
    """Clear the fault, and sign in again when the fault revoked the account's tokens."""
    fault.end(env)
    if fault.revoked:
        with _noting(cell, "signing in again"):
            await _sign_in_again(hass, env.api, env.entry)
    for _ in range(2):
        await advance(60)


async def _command_cell(
    cell: Cell,
    hass: HomeAssistant,
    env: Env,
    car: VirtualCar,
    fault: Fault,
    action: Action,
    advance: Advance,
) -> None:
    """Command once through the fault: a true verdict, never twice; then it works again."""
    command, run = COMMANDS[action]
    await SESSION_OPENERS[action](hass)
    fault.begin(env)
    await advance(fault.lasted_s)
    err = await _attempt(hass, run)
    runs = _runs(car, command)
    cell.executions(command, runs)
    key = None if err is None else err.translation_key
    cell.check(key in fault.command_keys, f"{command} ended with {key!r}: {err}")
    if err is not None:
        cell.check(err.translation_domain == DOMAIN, f"error of domain {err.translation_domain}")
        cell.check(key in EXCEPTION_KEYS, f"{key!r} has no message in strings.json")
        cell.check(not isinstance(err, ServiceValidationError), "a cloud failure blamed the user")
        for name, value in fault.placeholders.items():
            shown = (err.translation_placeholders or {}).get(name)
            cell.check(shown == value, f"placeholder {name} is {shown!r}, expected {value!r}")
    ran = err is None or fault.reaches_car
    cell.check(runs == int(ran), f"{command} ran {runs} times on the car, expected {int(ran)}")
    if action is Action.LOCK:
        lock = state_of(hass, "lock", "doors").state
        expected = LockState.LOCKED if err is None else LockState.UNLOCKED
        cell.check(lock == expected, f"doors show {lock} after the lock {key or 'worked'}")
        await _out_of_range(cell, hass, env.api, car)
    if fault.revoked:
        await hass.async_block_till_done()
        cell.check(_reauth_started(hass), "a revoked sign-in started no reauth flow")

    await _heal(cell, hass, env, fault, advance)
    before = _runs(car, command)
    again = await _attempt(hass, run)
    cell.check(again is None, f"{command} after recovery failed: {again}")
    cell.executions(command, _runs(car, command) - before)
    cell.check(_runs(car, command) == before + 1, f"{command} after recovery did not run once")
    if action is Action.LOCK:
        lock = state_of(hass, "lock", "doors").state
        cell.check(car.locked and lock == LockState.LOCKED, f"doors {lock} after a working lock")
    battery = state_of(hass, "sensor", "battery_level").state
    cell.check(battery == str(BEFORE), f"battery {battery} after recovery")


async def _out_of_range(
    cell: Cell, hass: HomeAssistant, api: FleetApiSimulator, car: VirtualCar
) -> None:
    """A charge limit the car does not accept is the user's error, and nothing is sent."""
    limit = car.charge_limit_soc
    try:
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: entity_id(hass, "number", "charge_limit"), ATTR_VALUE: 30},
            blocking=True,
        )
    except ServiceValidationError:
        pass
    except HomeAssistantError as err:
        cell.check(False, f"a charge limit of 30 % raised {type(err).__name__}, not a validation")
    else:
        cell.check(False, "a charge limit of 30 % was accepted")
    cell.check(car.charge_limit_soc == limit, "an out-of-range charge limit reached the car")
    cell.check(requests_to(api, "/command/set_charge_limit") == 0, "an out-of-range limit was sent")


@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("fault", FAULTS)
async def test_cloud_fault(
    hass: HomeAssistant,
    cell: Cell,
    account: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    dns: SimulatorResolver,
    car: VirtualCar,
    advance: Advance,
    fault: Fault,
    action: Action,
) -> None:
    """One cell: the cloud fails as `fault` says while the user does `action`."""
    if fault.revoked:
        cell.allowed_errors = AUTH_REJECTED
    car.sentry_mode = True
    if action is Action.LOCK:
        car.locked = False
    await _set_up(hass, account)
    cell.check(_battery(hass) == str(BEFORE), "battery not shown after setup")
    env = Env(hass, fleet_api, account, dns)
    with env.timeouts:
        if action is Action.READ:
            await _read_cell(cell, hass, env, car, fault, advance)
        else:
            await _command_cell(cell, hass, env, car, fault, action, advance)
