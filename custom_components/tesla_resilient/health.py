"""Tesla cloud health: classified outcomes in, per-capability status with hysteresis out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .health_terms import (
    Beat,
    Capability,
    CloudStatus,
    Outcome,
    Phase,
    Rule,
    Thresholds,
    is_outage_evidence,
)

__all__ = [
    "AccountHealth",
    "Beat",
    "Capability",
    "CloudStatus",
    "Freshness",
    "Outcome",
    "Phase",
    "Rule",
    "Thresholds",
    "Tracker",
    "is_outage_evidence",
]


class Tracker:
    """One capability's hysteresis: up -> suspect -> down -> recovering -> up."""

    __slots__ = ("_count", "_first", "_last", "_rule", "changed_at", "phase")

    def __init__(self, rule: Rule) -> None:
        """Start up, with no evidence."""
        self._rule = rule
        self.phase = Phase.UP
        self.changed_at: float | None = None
        self._count = 0
        self._first = 0.0
        self._last = 0.0

    @property
    def up(self) -> bool:
        """Whether the capability counts as working (a suspicion is not yet a failure)."""
        return self.phase in (Phase.UP, Phase.SUSPECT)

    def phase_at(self, at: float) -> Phase:
        """Return the phase at a time, dropping a suspicion whose last failure is too old."""
        if self.phase is Phase.SUSPECT and at - self._last > self._rule.failure_gap:
            return Phase.UP
        return self.phase

    def record(self, ok: bool | None, at: float) -> None:
        """Take one piece of evidence: True works, False failed, None answered without proof."""
        if self.phase_at(at) is not self.phase:
            self._move(Phase.UP, at)
        rule = self._rule
        if self.up:
            if ok is False:
                if self.phase is Phase.UP:
                    self._move(Phase.SUSPECT, at)
                self._count += 1
                self._last = at
                if self._count >= rule.failures_to_down:
                    self._move(Phase.DOWN, at)
            elif self.phase is Phase.SUSPECT:
                self._move(Phase.UP, at)
        elif ok is True:
            if self.phase is Phase.DOWN:
                self._move(Phase.RECOVERING, at)
                self._first = at
            self._count += 1
            if self._count >= rule.successes_to_up and at - self._first >= rule.recovery_hold:
                self._move(Phase.UP, at)
        elif ok is False and self.phase is Phase.RECOVERING:
            self._move(Phase.DOWN, at)

    def reset(self, at: float) -> None:
        """Forget all evidence and count as up."""
        if self.phase is not Phase.UP:
            self._move(Phase.UP, at)

    def snapshot(self, at: float) -> dict[str, Any]:
        """Phase and streak, for diagnostics."""
        return {"phase": str(self.phase_at(at)), "since": self.changed_at, "streak": self._count}

    def _move(self, phase: Phase, at: float) -> None:
        self.phase = phase
        self.changed_at = at
        self._count = 0


@dataclass(slots=True)
class Freshness:
    """Whether the cloud's data for one car still moves while Bluetooth sees the car awake."""

    latest: int | None = None
    moved_at: float | None = None
    awake_since: float | None = None
    stale: bool = False

    def record(
        self, car_timestamp_ms: int, at: float, awake: bool, stale_after: float, floor: float | None
    ) -> None:
        """Take one 200 answer's timestamp; the stale clock never starts before `floor`."""
        if self.latest is None or car_timestamp_ms > self.latest:
            self.latest = car_timestamp_ms
            self.moved_at = at
        if not awake:
            self.awake_since = None
            self.stale = False
            return
        if self.awake_since is None:
            self.awake_since = at
        start = max(t for t in (self.moved_at, self.awake_since, floor) if t is not None)
        self.stale = at - start > stale_after


@dataclass(slots=True)
class _Vehicle:
    data: Tracker
    commands: Tracker
    freshness: Freshness = field(default_factory=Freshness)
    rate_limited_until: float | None = None

    @property
    def data_up(self) -> bool:
        return self.data.up and not self.freshness.stale

    @property
    def all_down(self) -> bool:
        return not self.data_up and not self.commands.up

    @property
    def any_down(self) -> bool:
        return not self.data_up or not self.commands.up


def _evidence(outcome: Outcome) -> bool | None:
    if outcome is Outcome.SUCCESS:
        return True
    if is_outage_evidence(outcome):
        return False
    return None


def _active(until: float | None, at: float) -> bool:
    return until is not None and at < until


type _View = tuple[
    CloudStatus, frozenset[Capability], tuple[tuple[str, CloudStatus, frozenset[Capability]], ...]
]


class AccountHealth:
    """Health of one Tesla account's cloud: the probe and auth, plus data and commands per VIN.

    Every method takes the current monotonic time; nothing here reads a clock. Records return
    whether anything a user can see (account or vehicle status, failing capabilities) changed.
    """

    def __init__(self, thresholds: Thresholds | None = None, vins: Iterable[str] = ()) -> None:
        """Start with every capability up and the given vehicles known."""
        self.thresholds = thresholds or Thresholds()
        self._probe = Tracker(self.thresholds.probe_rule)
        self._auth = Tracker(self.thresholds.capability_rule)
        self._rejected = Tracker(self.thresholds.rejection_rule)
        self._vehicles: dict[str, _Vehicle] = {}
        self._rate_limited_until: float | None = None
        self._probe_up_since: float | None = None
        self._probe_asked = False
        self._status = CloudStatus.ONLINE
        self._since: float | None = None
        self.last_error: Outcome | None = None
        self.last_error_at: float | None = None
        for vin in vins:
            self._vehicle(vin)
        self._view: _View = self._view_at(0.0)

    @property
    def since(self) -> float | None:
        """When the current account status began (None before anything was recorded)."""
        return self._since

    @property
    def probe_timeout(self) -> float:
        """How long one /status probe may wait for an answer."""
        return self.thresholds.probe_timeout

    @property
    def vins(self) -> list[str]:
        """The vehicles tracked so far."""
        return list(self._vehicles)

    def record(
        self,
        capability: Capability,
        outcome: Outcome,
        at: float,
        *,
        vin: str | None = None,
        retry_after: float | None = None,
    ) -> bool:
        """Record one authenticated cloud exchange; returns whether the status changed.

        Data and commands without a VIN (the product list) count for every known vehicle. Record a
        401 that a token refresh fixed as the outcome of the retried request, and `auth_failed`
        only when a fresh token is still refused. Any success proves the credentials work. Outage
        evidence asks for a /status probe next, without waiting for the heartbeat.
        """
        self._note(outcome, at, vin, retry_after)
        evidence = _evidence(outcome)
        if evidence is False:
            self._probe_asked = True
        if capability is Capability.AUTH:
            self._auth.record(evidence, at)
        else:
            for vehicle in self._targets(vin):
                tracker = vehicle.data if capability is Capability.DATA else vehicle.commands
                tracker.record(evidence, at)
        if outcome is Outcome.AUTH_FAILED:
            self._rejected.record(False, at)
        elif outcome is Outcome.SUCCESS:
            self._rejected.record(True, at)
        return self.refresh(at)

    def record_probe(
        self, outcome: Outcome, at: float, *, retry_after: float | None = None
    ) -> bool:
        """Record one unauthenticated `GET /status`; returns whether the status changed.

        When the probe comes back from down, every vehicle's data and commands and the token
        endpoint start afresh: the outage explains their failures.
        """
        self._note(outcome, at, None, retry_after)
        self._probe_asked = False
        was_up = self._probe.up
        self._probe.record(_evidence(outcome), at)
        if self._probe.up and not was_up:
            self._probe_up_since = at
            self._auth.reset(at)
            for vehicle in self._vehicles.values():
                vehicle.data.reset(at)
                vehicle.commands.reset(at)
                vehicle.freshness.stale = False
        return self.refresh(at)

    def record_heartbeat(
        self, vin: str, outcome: Outcome, at: float, *, retry_after: float | None = None
    ) -> bool:
        """Record one vehicle state call; returns whether the status changed.

        The state poll is the account's heartbeat: its outcome is the probe's and the vehicle's
        data evidence at once.
        """
        changed = self.record_probe(outcome, at, retry_after=retry_after)
        changed |= self.record(Capability.DATA, outcome, at, vin=vin, retry_after=retry_after)
        self._probe_asked = False
        return changed

    def record_data_timestamp(
        self, vin: str, car_timestamp_ms: int, at: float, bluetooth_says_awake: bool
    ) -> bool:
        """Record the car's own timestamp from a 200 data answer; returns whether status changed.

        Data counts as down while the timestamp has not moved for `stale_after` seconds during
        which Bluetooth kept showing the car awake (the cloud answering from a frozen copy).
        """
        self._vehicle(vin).freshness.record(
            car_timestamp_ms,
            at,
            bluetooth_says_awake,
            self.thresholds.stale_after,
            self._probe_up_since,
        )
        return self.refresh(at)

    def refresh(self, at: float) -> bool:
        """Re-evaluate time-dependent state (a rate limit ending); returns whether it changed."""
        view = self._view_at(at)
        if self._since is None:
            self._since = at
        if view[0] is not self._status:
            self._status = view[0]
            self._since = at
        changed = view != self._view
        self._view = view
        return changed

    def status(self, at: float) -> CloudStatus:
        """Return the account's cloud status.

        Outage when the probe is down or every vehicle has lost both data and commands; then
        rejected credentials; degraded when something else is down; rate limited while Tesla
        asked us to wait; online otherwise.
        """
        vehicles = self._vehicles.values()
        if not self._probe.up or (vehicles and all(v.all_down for v in vehicles)):
            return CloudStatus.OUTAGE
        if not self._rejected.up:
            return CloudStatus.AUTH_FAILED
        if not self._auth.up or any(v.any_down for v in vehicles):
            return CloudStatus.DEGRADED
        if _active(self._rate_limited_until, at) or any(
            _active(v.rate_limited_until, at) for v in vehicles
        ):
            return CloudStatus.RATE_LIMITED
        return CloudStatus.ONLINE

    def vehicle_status(self, vin: str, at: float) -> CloudStatus:
        """Return the cloud status as one vehicle sees it."""
        vehicle = self._peek(vin)
        if not self._probe.up or vehicle.all_down:
            return CloudStatus.OUTAGE
        if not self._rejected.up:
            return CloudStatus.AUTH_FAILED
        if not self._auth.up or vehicle.any_down:
            return CloudStatus.DEGRADED
        if _active(self._rate_limited_until, at) or _active(vehicle.rate_limited_until, at):
            return CloudStatus.RATE_LIMITED
        return CloudStatus.ONLINE

    def failing(self, at: float, vin: str | None = None) -> set[Capability]:
        """Capabilities down for one vehicle, or for any vehicle when no VIN is given.

        A down probe fails everything; rejected credentials fail every authenticated call.
        """
        if not self._probe.up or not self._rejected.up:
            return set(Capability)
        down: set[Capability] = set()
        if not self._auth.up:
            down.add(Capability.AUTH)
        vehicles = self._vehicles.values() if vin is None else [self._peek(vin)]
        for vehicle in vehicles:
            if not vehicle.data_up:
                down.add(Capability.DATA)
            if not vehicle.commands.up:
                down.add(Capability.COMMANDS)
        return down

    def is_up(self, capability: Capability, at: float, vin: str | None = None) -> bool:
        """Whether a capability works (for one vehicle, or for all when no VIN is given).

        A rate limit does not make a capability down; ask `is_rate_limited` for that.
        """
        return capability not in self.failing(at, vin)

    def is_rate_limited(self, at: float, vin: str | None = None) -> bool:
        """Whether Tesla asked us to wait, account-wide or for this vehicle."""
        if _active(self._rate_limited_until, at):
            return True
        vehicle = self._vehicles.get(vin) if vin is not None else None
        return vehicle is not None and _active(vehicle.rate_limited_until, at)

    def next_beat(self, at: float) -> Beat:
        """Return what to send next: the heartbeat while healthy, /status once something failed."""
        if self._probe_asked or self._probe.phase_at(at) is not Phase.UP:
            return Beat.PROBE
        return Beat.HEARTBEAT

    def probe_interval(self, at: float) -> float:
        """Seconds from the end of one request of the schedule to the start of the next."""
        if self.next_beat(at) is Beat.PROBE:
            return self.thresholds.probe_interval_fast
        return self.thresholds.heartbeat_interval

    @property
    def heartbeat_timeout(self) -> float:
        """How long one heartbeat (the vehicle state call) may wait for an answer."""
        return self.thresholds.heartbeat_timeout

    def snapshot(self, at: float) -> dict[str, Any]:
        """Everything the health decisions rest on, JSON-ready, for diagnostics."""
        return {
            "status": str(self.status(at)),
            "since": self._since,
            "last_error": None if self.last_error is None else str(self.last_error),
            "last_error_at": self.last_error_at,
            "rate_limited_until": self._rate_limited_until,
            "failing": sorted(self.failing(at)),
            "probe": self._probe.snapshot(at),
            "next_beat": str(self.next_beat(at)),
            "probe_interval": self.probe_interval(at),
            "auth": self._auth.snapshot(at),
            "auth_rejected": self._rejected.snapshot(at),
            "vehicles": [
                {
                    "vin": vin,
                    "status": str(self.vehicle_status(vin, at)),
                    "failing": sorted(self.failing(at, vin)),
                    "data": vehicle.data.snapshot(at),
                    "commands": vehicle.commands.snapshot(at),
                    "data_stale": vehicle.freshness.stale,
                    "data_timestamp_moved_at": vehicle.freshness.moved_at,
                    "rate_limited_until": vehicle.rate_limited_until,
                }
                for vin, vehicle in self._vehicles.items()
            ],
            "thresholds": asdict(self.thresholds),
        }

    def _note(
        self, outcome: Outcome, at: float, vin: str | None, retry_after: float | None
    ) -> None:
        if outcome not in (Outcome.SUCCESS, Outcome.ASLEEP):
            self.last_error = outcome
            self.last_error_at = at
        if outcome is Outcome.RATE_LIMITED:
            wait = self.thresholds.default_retry_after if retry_after is None else retry_after
            if vin is None:
                self._rate_limited_until = at + wait
            else:
                self._vehicle(vin).rate_limited_until = at + wait

    def _vehicle(self, vin: str) -> _Vehicle:
        vehicle = self._vehicles.get(vin)
        if vehicle is None:
            vehicle = self._vehicles[vin] = self._new_vehicle()
        return vehicle

    def _peek(self, vin: str) -> _Vehicle:
        return self._vehicles.get(vin) or self._new_vehicle()

    def _new_vehicle(self) -> _Vehicle:
        rule = self.thresholds.capability_rule
        return _Vehicle(Tracker(rule), Tracker(rule))

    def _targets(self, vin: str | None) -> list[_Vehicle]:
        return list(self._vehicles.values()) if vin is None else [self._vehicle(vin)]

    def _view_at(self, at: float) -> _View:
        return (
            self.status(at),
            frozenset(self.failing(at)),
            tuple(
                (vin, self.vehicle_status(vin, at), frozenset(self.failing(at, vin)))
                for vin in self._vehicles
            ),
        )
