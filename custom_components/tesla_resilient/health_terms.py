"""The terms of cloud health: outcomes, capabilities, statuses, and the thresholds behind them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """The verdict on one cloud exchange."""

    SUCCESS = "success"
    ASLEEP = "asleep"
    BAD_REQUEST = "bad_request"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TRANSPORT = "transport"
    VEHICLE_UNAVAILABLE = "vehicle_unavailable"
    """The cloud answered, for the car: it could not reach it (503 "vehicle is not available"
    through `signed_command`) or the car answered with an error (540). Not the cloud's failure."""


_OUTAGE_EVIDENCE = frozenset({Outcome.SERVER_ERROR, Outcome.TRANSPORT})


def is_outage_evidence(outcome: Outcome) -> bool:
    """Whether an outcome says the cloud itself is failing: a 5xx, or no answer at all."""
    return outcome in _OUTAGE_EVIDENCE


class Capability(StrEnum):
    """What the cloud does for us, tracked separately because outages have been partial."""

    AUTH = "auth"
    DATA = "data"
    COMMANDS = "commands"


class CloudStatus(StrEnum):
    """The Tesla cloud as an enum sensor shows it."""

    ONLINE = "online"
    DEGRADED = "degraded"
    OUTAGE = "outage"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"


class Phase(StrEnum):
    """Where one capability stands in its hysteresis."""

    UP = "up"
    SUSPECT = "suspect"
    DOWN = "down"
    RECOVERING = "recovering"


@dataclass(frozen=True, slots=True)
class Rule:
    """How much evidence moves one tracker down and back up."""

    failures_to_down: int
    successes_to_up: int
    failure_gap: float
    recovery_hold: float


class Beat(StrEnum):
    """What the account's next request to the cloud is."""

    HEARTBEAT = "heartbeat"
    """The state poll: one vehicle's free state call, which also proves the cloud answers."""

    PROBE = "probe"
    """The unauthenticated `GET /status`, once something has failed."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every number the health decisions rest on.

    One heartbeat per account while healthy: the vehicle state poll is the health probe. H =
    heartbeat_interval (60 s), Th = heartbeat_timeout (10 s), F = probe_interval_fast (2 s), T =
    probe_timeout (5 s), N = probe_failures_to_down (3), R = probe_recovery_hold (30 s). The next
    request is scheduled H or F after the previous one finished; J = 1 s per request allows for
    scheduler slack plus the time an answer takes.

    - Budget: at most 1,500 requests a day per account while healthy. 86,400 / H = 1,440
      heartbeats leave 60 for paid data calls, the daily vehicle list and token refreshes.
    - Outage that refuses connections or answers 5xx, declared within 75 s: it starts just after
      a heartbeat, the next one fails H later and N - 1 fast probes follow F apart:
      H + (N - 1) F + N J = 60 + 4 + 3 = 67 s.
    - Outage that never answers, declared within 100 s: the heartbeat waits Th, each probe T:
      H + Th + (N - 1)(F + T) + N J = 60 + 10 + 14 + 3 = 87 s.
    - Recovery within 90 s: the cloud returns just after a probe started, which still times out
      (T); the next probe F later is the first success; the run must last R, and the probe that
      completes it comes at most F + J after R: T + (F + J) + R + (F + J) = 5 + 3 + 30 + 3 = 41 s.
      Recovery resets the per-vehicle trackers, whose failures the outage explains, so the
      account status is online at that moment.
    - No false outage in a day of sleep, wakes, 408s, 429 bursts, token refreshes and single 5xx
      blips: 408, 429, other 4xx and a 401 that a refresh fixed are never evidence; a single blip
      is one or two failures against N = 3 in a row for heartbeat and probes together, and 2 in
      a row, at most 600 s apart, for a vehicle's data or commands; any answer in between breaks
      the run.
    - No flapping when the cloud flaps every few seconds: going down takes N failures in a row,
      which span at least (N - 1) F = 4 s, and coming back takes R = 30 s of unbroken successes,
      so a cloud that is never up for 30 s at a stretch changes the status at most once (to
      outage) and once more when it finally holds.
    """

    # the state poll shows a car waking within a minute and, as the heartbeat, keeps the account
    # at 1,440 free requests a day: a small, fixed load while nothing is wrong.
    heartbeat_interval: float = 60.0
    # the state call is answered by Tesla's servers without reaching the car, in well under a
    # second; 10 s is ample for a slow link and keeps a silent outage within the 100 s budget.
    heartbeat_timeout: float = 10.0
    # once something failed, confirming or clearing the suspicion quickly matters more than load
    # on a free endpoint; 2 s (with a second of slack) is shorter than any down spell of a
    # flapping cloud worth noticing, so such a cloud cannot hide between probes and look held.
    probe_interval_fast: float = 2.0
    # /status answers at once when the cloud is up; 5 s is headroom for a slow link while two
    # timed-out probes still fit the 100 s budget for a silent outage.
    probe_timeout: float = 5.0
    # three in a row, the heartbeat's failure included: a single 5xx blip or one dropped packet
    # never declares an outage, and two fast probes after the heartbeat fit the 75 s budget.
    probe_failures_to_down: int = 3
    # recovery wants more than one lucky answer; with 5 s probes the hold below is what binds.
    probe_successes_to_up: int = 3
    # 30 s of unbroken success before an outage ends: a cloud flapping every few seconds stays
    # "outage" instead of toggling, and 41 s worst-case recovery stays inside the 90 s target.
    probe_recovery_hold: float = 30.0
    # failures after the heartbeat's come at most F + T = 7 s apart; a longer pause (host
    # suspended) means older failures no longer describe the cloud and must not join a new run.
    probe_failure_gap: float = 30.0
    # data polls and commands are paid and rare, so each failure is weightier than a probe's; two
    # in a row still survive a single 5xx blip.
    capability_failures_to_down: int = 2
    # two answers that work, not one, before a vehicle's data or commands count as back.
    capability_successes_to_up: int = 2
    # the same hold as the probe, so a burst of commands during a flap does not bring it back.
    capability_recovery_hold: float = 30.0
    # data polls run minutes apart; two failures more than ten minutes apart are separate blips.
    capability_failure_gap: float = 600.0
    # a rejection is recorded only after a token refresh failed to fix it; a second one in a row
    # rules out a token rotated between two concurrent requests.
    auth_rejections_to_down: int = 2
    # an awake, connected car updates the cloud's timestamp every few seconds; five minutes covers
    # a car that just woke and is still bringing up its cellular link.
    stale_after: float = 300.0
    # Tesla sometimes answers 429 without Retry-After; a minute is its shortest rate-limit window.
    default_retry_after: float = 60.0

    @property
    def probe_rule(self) -> Rule:
        """Hysteresis of the /status probe."""
        return Rule(
            self.probe_failures_to_down,
            self.probe_successes_to_up,
            self.probe_failure_gap,
            self.probe_recovery_hold,
        )

    @property
    def capability_rule(self) -> Rule:
        """Hysteresis of the token endpoint and of each vehicle's data and commands."""
        return Rule(
            self.capability_failures_to_down,
            self.capability_successes_to_up,
            self.capability_failure_gap,
            self.capability_recovery_hold,
        )

    @property
    def rejection_rule(self) -> Rule:
        """Hysteresis of credential rejections: any authenticated success clears them."""
        return Rule(self.auth_rejections_to_down, 1, math.inf, 0.0)
