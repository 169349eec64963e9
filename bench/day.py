"""The simulated day: one car parked at home for 24 hours, awake two of them, and what it cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED, STATE_OFF, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event as HassEvent
from homeassistant.core import EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from bench.settings import real_monotonic
from bench.simtime import SimulatedTime
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import SleepModel, VirtualCar

HOUR = 3600.0
DAY_S = 24 * HOUR
SAMPLE_S = 60.0
"""How often the driver looks at the car to record whether it sleeps."""

QUIET_SECOND = 30.0
"""The day starts and ends at this second of a minute: Home Assistant's coordinators poll within
the first half second of a second, so no request is in flight at either edge of the day."""

USER = "user"
"""The `via` of wakes the owner causes; every other wake came from an integration."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happens to the car at a time of day (seconds after midnight)."""

    at_s: float
    name: str
    apply: Callable[[VirtualCar], None]


def owner_arrives(car: VirtualCar) -> None:
    """The owner gets in and switches the climate on: the car wakes by itself and stays awake."""
    car.user_present = True
    car.climate_on = True
    car.wake(USER)


def owner_leaves(car: VirtualCar) -> None:
    """The owner switches the climate off and leaves: the car may sleep once idle."""
    car.touch()
    car.user_present = False
    car.climate_on = False
    car.touch()


EVENING: tuple[Event, ...] = (
    Event(18 * HOUR, "owner arrives", owner_arrives),
    Event(20 * HOUR, "owner leaves", owner_leaves),
)
"""The default day: parked, awake from 18:00 to 20:00 (owner present, climate on)."""


def drives_off(car: VirtualCar) -> None:
    """The owner gets in and drives: the car wakes by itself and stays awake while driving."""
    car.user_present = True
    car.shift_state = "D"
    car.speed_mph = 30
    car.wake(USER)


def parks(car: VirtualCar) -> None:
    """The owner parks and walks away: the car may sleep once idle."""
    car.touch()
    car.shift_state = "P"
    car.speed_mph = None
    car.user_present = False
    car.touch()


def climate_from_phone(car: VirtualCar) -> None:
    """The owner switches the climate on from the phone app: the car wakes and stays awake."""
    car.climate_on = True
    car.wake(USER)


def climate_off_from_phone(car: VirtualCar) -> None:
    """The owner switches the climate off again: the car may sleep once idle."""
    car.touch()
    car.climate_on = False
    car.touch()


COMMUTE: tuple[Event, ...] = (
    Event(7.5 * HOUR, "owner drives to work", drives_off),
    Event(8 * HOUR, "owner parks at work", parks),
    Event(12.5 * HOUR, "owner starts the climate from the phone", climate_from_phone),
    Event(12.75 * HOUR, "owner stops the climate from the phone", climate_off_from_phone),
    Event(17 * HOUR, "owner drives home", drives_off),
    Event(17.5 * HOUR, "owner parks at home", parks),
    *EVENING,
)
"""A working day: driven to work and back, climate from the phone at noon, the evening at home."""


class DayKind(StrEnum):
    """Where the car spends the day, as far as Bluetooth is concerned."""

    GARAGE = "garage"
    """In Bluetooth range all day; the evening at home."""

    AWAY = "away"
    """Out of Bluetooth range all day (cloud only); the same evening, parked elsewhere."""

    MIXED = "mixed"
    """In range at night; driven off at 07:30, out of range 07:35 to 17:25, home at 17:30."""


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One kind of day: the car's events and when it is in Bluetooth range."""

    kind: DayKind
    events: tuple[Event, ...]
    out_of_range: tuple[tuple[float, float], ...]

    def in_range(self, at_s: float) -> bool:
        """Whether the car is in Bluetooth range at a time of day."""
        return not any(start <= at_s < end for start, end in self.out_of_range)

    def range_changes(self) -> list[float]:
        """Times of day at which the car enters or leaves Bluetooth range."""
        return sorted({t for span in self.out_of_range for t in span if 0 < t < DAY_S})


PLANS: dict[DayKind, DayPlan] = {
    DayKind.GARAGE: DayPlan(DayKind.GARAGE, EVENING, ()),
    DayKind.AWAY: DayPlan(DayKind.AWAY, EVENING, ((0.0, DAY_S),)),
    DayKind.MIXED: DayPlan(DayKind.MIXED, COMMUTE, ((7.5 * HOUR + 300, 17.5 * HOUR - 300),)),
}
"""The days the benchmark lives, each under both sleep models."""

VIN_BY_MODEL: dict[SleepModel, str] = {
    SleepModel.SLEEPS: "5YJ3E7EB0NF000001",
    SleepModel.KEPT_AWAKE: "5YJSA1E2XLF000001",
}
"""The car of each sleep model: a 2022 Model 3, and a 2020 Model S, which tesla-fleet-api (and so
Home Assistant's tesla_fleet) reads as pre-2021 and lets fall asleep by pausing its poll."""

NAME_BY_MODEL: dict[SleepModel, str] = {
    SleepModel.SLEEPS: "Demo Model 3",
    SleepModel.KEPT_AWAKE: "Demo Model S",
}


_NOT_ON = frozenset({STATE_OFF, STATE_UNAVAILABLE, STATE_UNKNOWN})


class IntegrationLost(AssertionError):
    """The integration under test did not show what the car did, so its counts mean nothing."""


class ClimateWatch:
    """Records how soon an entry's climate entities show the owner switching the climate on and off.

    A day that costs nothing because the integration stopped reading the car is no saving; the
    day driver checks with this that the integration under test followed the car.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Watch the climate entities registered for `entry_id`."""
        registry = er.async_get(hass)
        self.entity_ids = {
            entity.entity_id
            for entity in er.async_entries_for_config_entry(registry, entry_id)
            if entity.domain == "climate"
        }
        self.hass = hass
        self.expected: bool | None = None
        self.since = 0.0
        self.on_after: float | None = None
        self.off_after: float | None = None
        self.missed: list[str] = []
        self._unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, self._changed)

    def expect(self, on: bool, now: float) -> None:
        """The owner switched the climate on or off at `now`."""
        self._close_phase()
        self.expected, self.since = on, now

    def lost(self) -> str | None:
        """Why the integration did not follow the car, or None when it did."""
        self._close_phase()
        if not self.entity_ids:
            return "the entry has no climate entity"
        return "; ".join(self.missed) or None

    def _close_phase(self) -> None:
        if self.expected is True and self.on_after is None:
            self.missed.append("never showed the climate on while the owner was in the car")
        elif self.expected is False and self.off_after is None:
            self.missed.append("never showed the climate off after the owner left")
        self.expected = None

    @callback
    def _changed(self, event: HassEvent[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] not in self.entity_ids or new is None:
            return
        after = self.hass.loop.time() - self.since
        if self.expected is True and self.on_after is None and new.state not in _NOT_ON:
            self.on_after = after
        elif self.expected is False and self.off_after is None and new.state == STATE_OFF:
            self.off_after = after

    def close(self) -> None:
        """Stop watching."""
        self._unsubscribe()


@dataclass(slots=True)
class DayResult:
    """What one simulated day counted."""

    data: int
    commands: int
    wakes: int
    free: int
    cost_usd: float
    wakes_by_link: dict[str, int]
    awake_s: float
    requests_by_path: dict[str, int]
    requests_by_kind: dict[str, int]
    jumps: int
    real_s: float
    token_refreshes: int
    started_at: float = 0.0
    climate_on_seen_after_s: float | None = None
    climate_off_seen_after_s: float | None = None
    events: list[str] = field(default_factory=list)

    @property
    def billable(self) -> int:
        """Every billed request."""
        return self.data + self.commands + self.wakes

    @property
    def requests(self) -> int:
        """Every request the cloud received that day, free ones and unanswered ones included."""
        return sum(self.requests_by_path.values())

    @property
    def polling_wakes(self) -> int:
        """Wakes no owner caused; the day sends no command, so each one came from polling."""
        return sum(count for via, count in self.wakes_by_link.items() if via != USER)

    def detail(self) -> dict[str, Any]:
        """The counts behind the figures, for the JSON report."""
        return {
            "billable": {"data": self.data, "commands": self.commands, "wakes": self.wakes},
            "free_requests": self.free,
            "requests": self.requests,
            "requests_by_kind": self.requests_by_kind,
            "cost_usd_day": round(self.cost_usd, 4),
            "car_wakes_by_cause": self.wakes_by_link,
            "car_awake_h": round(self.awake_s / HOUR, 2),
            "requests_by_path": self.requests_by_path,
            "token_refreshes": self.token_refreshes,
            "owner_climate_on_shown_after_s": _rounded(self.climate_on_seen_after_s),
            "owner_climate_off_shown_after_s": _rounded(self.climate_off_seen_after_s),
            "events": self.events,
            "time_jumps": self.jumps,
            "real_s": round(self.real_s, 1),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _path_kind(path: str) -> str:
    """Name a request path without the VIN."""
    parts = path.strip("/").split("/")
    if len(parts) >= 4 and parts[:3] == ["api", "1", "vehicles"]:
        return "/".join(["vehicles/{vin}", *parts[4:]]) if len(parts) > 4 else "vehicles/{vin}"
    return "/".join(parts)


def _range_event(proxy: SimulatedBluetoothProxy, plan: DayPlan, at_s: float) -> Event:
    in_range = plan.in_range(at_s)

    def apply(_car: VirtualCar) -> None:
        proxy.in_range = in_range

    return Event(at_s, "car back in Bluetooth range" if in_range else "car out of range", apply)


_KINDS: tuple[tuple[str, str], ...] = (
    ("status", "/status probe (free)"),
    ("oauth2/v3/token", "token refresh (free)"),
    ("vehicles/{vin}/vehicle_data", "vehicle data (data)"),
    ("vehicles/{vin}/wake_up", "wake (wake)"),
    ("vehicles/{vin}/command", "command (command)"),
    ("vehicles/{vin}", "vehicle state (free)"),
    ("api/1/products", "vehicle list (data)"),
    ("api/1/vehicles", "vehicle list (data)"),
    ("api/1/users", "account (data)"),
)


def _request_kind(path: str) -> str:
    """Name a request by what it is and how Tesla bills it."""
    kind = _path_kind(path)
    for prefix, name in _KINDS:
        if kind == prefix or kind.startswith(f"{prefix}/"):
            return name
    return kind


async def simulate_day(
    time: SimulatedTime,
    car: VirtualCar,
    cloud: FleetApiSimulator,
    entry_id: str,
    events: Sequence[Event] = EVENING,
    *,
    length_s: float = DAY_S,
    plan: DayPlan | None = None,
    proxy: SimulatedBluetoothProxy | None = None,
) -> DayResult:
    """Run `length_s` of simulated time from now, applying `events`, and count what happened.

    The day starts at the next QUIET_SECOND of a minute: whatever ran before (entry setup) is
    not part of it. Every scheduled timer fires on time (see SimulatedTime); the car is looked at
    every SAMPLE_S to record whether it sleeps.

    With a `plan`, its events replace `events`, and `proxy` (when given) hears the car only
    while the plan has it in range.

    The climate entities of `entry_id` must show the owner's climate on before the owner
    switches it off, and off again before the day ends; otherwise IntegrationLost is raised.
    """
    if plan is not None:
        events = plan.events
    started = real_monotonic()
    now = time.now()
    await time.advance_to(now + (QUIET_SECOND - now) % 60)
    billing = cloud.billing
    before = (billing.data, billing.commands, billing.wakes, billing.free, billing.cost_usd)
    wakes_before = Counter(car.wakes)
    requests_before = len(cloud.requests)
    jumps_before = time.jumps
    start = time.now()
    pending = sorted(events, key=lambda event: event.at_s)
    if plan is not None and proxy is not None:
        proxy.in_range = plan.in_range(0.0)
        pending = sorted(
            [*pending, *(_range_event(proxy, plan, at) for at in plan.range_changes())],
            key=lambda event: event.at_s,
        )
    applied: list[str] = []
    awake_s = 0.0
    elapsed = 0.0
    watch = ClimateWatch(time.hass, entry_id)
    try:
        while elapsed < length_s:
            step = min(SAMPLE_S, length_s - elapsed)
            if pending and pending[0].at_s < elapsed + step:
                step = pending[0].at_s - elapsed
            awake = car.state == "online"
            await time.advance_to(start + elapsed + step)
            if awake:
                awake_s += step
            elapsed += step
            while pending and pending[0].at_s <= elapsed:
                event = pending.pop(0)
                was_on = car.climate_on
                event.apply(car)
                if car.climate_on != was_on:
                    watch.expect(car.climate_on, time.now())
                applied.append(f"{event.at_s / HOUR:05.2f} h {event.name}")
    finally:
        watch.close()
    if (lost := watch.lost()) is not None:
        raise IntegrationLost(f"the integration under test {lost}")
    requests = cloud.requests[requests_before:]
    by_path = Counter(_path_kind(record.path) for record in requests)
    by_kind = Counter(_request_kind(record.path) for record in requests)
    wakes = Counter(car.wakes)
    wakes.subtract(wakes_before)
    return DayResult(
        data=billing.data - before[0],
        commands=billing.commands - before[1],
        wakes=billing.wakes - before[2],
        free=billing.free - before[3],
        cost_usd=billing.cost_usd - before[4],
        wakes_by_link={via: count for via, count in wakes.items() if count},
        awake_s=awake_s,
        requests_by_path=dict(sorted(by_path.items())),
        requests_by_kind=dict(sorted(by_kind.items())),
        jumps=time.jumps - jumps_before,
        real_s=real_monotonic() - started,
        token_refreshes=by_path.get("oauth2/v3/token", 0),
        started_at=start,
        climate_on_seen_after_s=watch.on_after,
        climate_off_seen_after_s=watch.off_after,
        events=applied,
    )
