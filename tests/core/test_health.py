"""Tests for the cloud health tracker."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.tesla_resilient.health import (
    AccountHealth,
    Beat,
    Capability,
    CloudStatus,
    Outcome,
    Thresholds,
    is_outage_evidence,
)

VIN = "5YJ3E1EA7KF000001"
OTHER = "5YJ3E1EA7KF000002"
LIMITS = Thresholds()

type Cloud = Literal["up", "refused", "5xx", "silent"]


def _down(health: AccountHealth, capability: Capability, at: float, vin: str | None = VIN) -> None:
    for step in range(LIMITS.capability_failures_to_down):
        health.record(capability, Outcome.SERVER_ERROR, at + step, vin=vin)


def _probe_down(health: AccountHealth, at: float) -> float:
    for _ in range(LIMITS.probe_failures_to_down):
        health.record_probe(Outcome.TRANSPORT, at)
        at += LIMITS.probe_interval_fast
    return at


def _probe_up(health: AccountHealth, at: float) -> float:
    while health.status(at) is CloudStatus.OUTAGE:
        health.record_probe(Outcome.SUCCESS, at)
        at += LIMITS.probe_interval_fast
    return at


@pytest.mark.parametrize(
    ("outcome", "evidence"),
    [
        (Outcome.SUCCESS, False),
        (Outcome.ASLEEP, False),
        (Outcome.BAD_REQUEST, False),
        (Outcome.AUTH_FAILED, False),
        (Outcome.RATE_LIMITED, False),
        (Outcome.SERVER_ERROR, True),
        (Outcome.TRANSPORT, True),
    ],
)
def test_only_server_errors_and_transport_failures_are_outage_evidence(
    outcome: Outcome, evidence: bool
) -> None:
    assert is_outage_evidence(outcome) is evidence


def test_status_values_are_the_enum_sensor_options() -> None:
    assert [str(status) for status in CloudStatus] == [
        "online",
        "degraded",
        "outage",
        "auth_failed",
        "rate_limited",
    ]
    assert [str(capability) for capability in Capability] == ["auth", "data", "commands"]


def test_starts_online_with_nothing_failing() -> None:
    health = AccountHealth(vins=[VIN])

    assert health.status(0.0) is CloudStatus.ONLINE
    assert health.vehicle_status(VIN, 0.0) is CloudStatus.ONLINE
    assert health.failing(0.0) == set()
    assert health.since is None
    assert health.last_error is None
    assert health.vins == [VIN]


def test_probe_needs_consecutive_failures_to_declare_an_outage() -> None:
    health = AccountHealth()

    assert health.record_probe(Outcome.SERVER_ERROR, 0.0) is False
    assert health.record_probe(Outcome.TRANSPORT, 2.0) is False
    assert health.status(2.0) is CloudStatus.ONLINE
    assert health.record_probe(Outcome.TRANSPORT, 4.0) is True

    assert health.status(4.0) is CloudStatus.OUTAGE
    assert health.since == 4.0
    assert health.failing(4.0, VIN) == set(Capability)
    assert not health.is_up(Capability.COMMANDS, 4.0, VIN)


def test_a_success_breaks_a_run_of_probe_failures() -> None:
    health = AccountHealth()
    health.record_probe(Outcome.TRANSPORT, 0.0)
    health.record_probe(Outcome.TRANSPORT, 2.0)
    health.record_probe(Outcome.SUCCESS, 4.0)
    health.record_probe(Outcome.TRANSPORT, 6.0)
    health.record_probe(Outcome.TRANSPORT, 8.0)

    assert health.status(8.0) is CloudStatus.ONLINE


def test_probe_failures_too_far_apart_do_not_add_up() -> None:
    health = AccountHealth()
    gap = LIMITS.probe_failure_gap + 1
    for step in range(LIMITS.probe_failures_to_down):
        health.record_probe(Outcome.TRANSPORT, step * gap)

    assert health.status(10 * gap) is CloudStatus.ONLINE


def test_outage_ends_only_after_a_held_run_of_successes() -> None:
    health = AccountHealth()
    at = _probe_down(health, 0.0)
    first = at

    while at < first + LIMITS.probe_recovery_hold:
        assert health.record_probe(Outcome.SUCCESS, at) is False
        assert health.status(at) is CloudStatus.OUTAGE
        at += LIMITS.probe_interval_fast
    assert health.record_probe(Outcome.SUCCESS, at) is True

    assert health.status(at) is CloudStatus.ONLINE
    assert health.since == at


def test_a_failure_while_recovering_starts_the_hold_again() -> None:
    health = AccountHealth()
    at = _probe_down(health, 0.0)
    health.record_probe(Outcome.SUCCESS, at)
    health.record_probe(Outcome.TRANSPORT, at + 20)
    health.record_probe(Outcome.SUCCESS, at + 22)
    health.record_probe(Outcome.SUCCESS, at + 40)

    assert health.status(at + 40) is CloudStatus.OUTAGE
    health.record_probe(Outcome.SUCCESS, at + 52)
    assert health.status(at + 52) is CloudStatus.ONLINE


def test_non_evidence_never_moves_the_probe() -> None:
    health = AccountHealth()
    at = _probe_down(health, 0.0)
    for outcome in (Outcome.ASLEEP, Outcome.BAD_REQUEST, Outcome.AUTH_FAILED):
        health.record_probe(outcome, at + 100)

    assert health.status(at + 100) is CloudStatus.OUTAGE


def test_healthy_schedule_is_one_heartbeat_a_minute_within_the_daily_budget() -> None:
    health = AccountHealth(vins=[VIN])
    at = 0.0
    beats = 0
    while at < 86_400.0:
        assert health.next_beat(at) is Beat.HEARTBEAT
        health.record_heartbeat(VIN, Outcome.SUCCESS, at)
        beats += 1
        at += health.probe_interval(at)

    assert beats == 1_440
    assert health.heartbeat_timeout == LIMITS.heartbeat_timeout
    assert health.probe_timeout == LIMITS.probe_timeout


def test_a_failed_heartbeat_makes_the_schedule_probe_fast_until_the_suspicion_clears() -> None:
    health = AccountHealth(vins=[VIN])
    health.record_heartbeat(VIN, Outcome.TRANSPORT, 0.0)

    assert health.next_beat(0.0) is Beat.PROBE
    assert health.probe_interval(0.0) == LIMITS.probe_interval_fast
    health.record_probe(Outcome.SUCCESS, LIMITS.probe_interval_fast)
    assert health.next_beat(LIMITS.probe_interval_fast) is Beat.HEARTBEAT
    assert health.probe_interval(LIMITS.probe_interval_fast) == LIMITS.heartbeat_interval


def test_a_suspicion_too_old_goes_back_to_the_heartbeat() -> None:
    health = AccountHealth(vins=[VIN])
    health.record_probe(Outcome.TRANSPORT, 0.0)

    assert health.next_beat(LIMITS.probe_failure_gap) is Beat.PROBE
    assert health.next_beat(LIMITS.probe_failure_gap + 1) is Beat.HEARTBEAT


def test_a_failure_of_another_request_asks_for_one_probe_before_the_heartbeat() -> None:
    health = AccountHealth(vins=[VIN])
    health.record(Capability.COMMANDS, Outcome.SERVER_ERROR, 10.0, vin=VIN)

    assert health.next_beat(10.0) is Beat.PROBE
    assert health.probe_interval(10.0) == LIMITS.probe_interval_fast
    health.record_probe(Outcome.SUCCESS, 15.0)
    assert health.next_beat(15.0) is Beat.HEARTBEAT
    health.record(Capability.COMMANDS, Outcome.RATE_LIMITED, 20.0, vin=VIN, retry_after=5)
    health.record(Capability.DATA, Outcome.ASLEEP, 21.0, vin=VIN)
    assert health.next_beat(21.0) is Beat.HEARTBEAT


def test_schedule_probes_fast_through_an_outage_and_its_recovery() -> None:
    health = AccountHealth(vins=[VIN])
    health.record_heartbeat(VIN, Outcome.SERVER_ERROR, 0.0)
    at = _probe_down(health, LIMITS.probe_interval_fast)
    assert health.status(at) is CloudStatus.OUTAGE
    assert health.next_beat(at + 3600) is Beat.PROBE
    assert health.probe_interval(at + 3600) == LIMITS.probe_interval_fast

    health.record_probe(Outcome.SUCCESS, at)
    assert health.next_beat(at + 1) is Beat.PROBE
    at = _probe_up(health, at)
    assert health.status(at) is CloudStatus.ONLINE
    assert health.next_beat(at) is Beat.HEARTBEAT
    assert health.probe_interval(at) == LIMITS.heartbeat_interval


def test_heartbeat_is_also_the_vehicles_data_evidence() -> None:
    health = AccountHealth(vins=[VIN])
    health.record_heartbeat(VIN, Outcome.SERVER_ERROR, 0.0)
    health.record_probe(Outcome.SUCCESS, 5.0)
    health.record_heartbeat(VIN, Outcome.SERVER_ERROR, 65.0)

    assert health.failing(65.0, VIN) == {Capability.DATA}
    assert health.status(65.0) is CloudStatus.DEGRADED
    health.record_heartbeat(VIN, Outcome.SUCCESS, 130.0)
    health.record_heartbeat(VIN, Outcome.SUCCESS, 190.0)
    assert health.status(190.0) is CloudStatus.ONLINE


def test_data_failures_make_the_vehicle_degraded_and_both_capabilities_an_outage() -> None:
    health = AccountHealth(vins=[VIN])

    health.record(Capability.DATA, Outcome.SERVER_ERROR, 0.0, vin=VIN)
    assert health.status(0.0) is CloudStatus.ONLINE
    assert health.record(Capability.DATA, Outcome.TRANSPORT, 60.0, vin=VIN) is True

    assert health.status(60.0) is CloudStatus.DEGRADED
    assert health.vehicle_status(VIN, 60.0) is CloudStatus.DEGRADED
    assert health.failing(60.0, VIN) == {Capability.DATA}
    assert health.is_up(Capability.COMMANDS, 60.0, VIN)
    assert not health.is_up(Capability.DATA, 60.0, VIN)

    _down(health, Capability.COMMANDS, 70.0)
    assert health.status(80.0) is CloudStatus.OUTAGE
    assert health.vehicle_status(VIN, 80.0) is CloudStatus.OUTAGE


def test_account_outage_needs_every_vehicle_down() -> None:
    health = AccountHealth(vins=[VIN, OTHER])
    _down(health, Capability.DATA, 0.0)
    _down(health, Capability.COMMANDS, 0.0)

    assert health.vehicle_status(VIN, 10.0) is CloudStatus.OUTAGE
    assert health.vehicle_status(OTHER, 10.0) is CloudStatus.ONLINE
    assert health.status(10.0) is CloudStatus.DEGRADED
    assert health.failing(10.0) == {Capability.DATA, Capability.COMMANDS}
    assert health.failing(10.0, OTHER) == set()

    _down(health, Capability.DATA, 20.0, vin=OTHER)
    _down(health, Capability.COMMANDS, 20.0, vin=OTHER)
    assert health.status(30.0) is CloudStatus.OUTAGE


def test_data_without_a_vin_counts_for_every_vehicle() -> None:
    health = AccountHealth(vins=[VIN, OTHER])
    _down(health, Capability.DATA, 0.0, vin=None)

    assert health.failing(10.0, VIN) == {Capability.DATA}
    assert health.failing(10.0, OTHER) == {Capability.DATA}


def test_vehicle_failures_must_come_in_a_row_and_close_together() -> None:
    health = AccountHealth(vins=[VIN])
    health.record(Capability.DATA, Outcome.SERVER_ERROR, 0.0, vin=VIN)
    health.record(Capability.DATA, Outcome.ASLEEP, 10.0, vin=VIN)
    health.record(Capability.DATA, Outcome.SERVER_ERROR, 20.0, vin=VIN)
    assert health.is_up(Capability.DATA, 20.0, VIN)

    health.record(Capability.COMMANDS, Outcome.SERVER_ERROR, 0.0, vin=VIN)
    gap = LIMITS.capability_failure_gap + 1
    health.record(Capability.COMMANDS, Outcome.SERVER_ERROR, gap, vin=VIN)
    assert health.is_up(Capability.COMMANDS, gap, VIN)


def test_vehicle_capability_recovers_after_two_successes_held_apart() -> None:
    health = AccountHealth(vins=[VIN])
    _down(health, Capability.COMMANDS, 0.0)

    health.record(Capability.COMMANDS, Outcome.SUCCESS, 100.0, vin=VIN)
    health.record(Capability.COMMANDS, Outcome.SUCCESS, 110.0, vin=VIN)
    assert not health.is_up(Capability.COMMANDS, 110.0, VIN)
    health.record(Capability.COMMANDS, Outcome.ASLEEP, 115.0, vin=VIN)
    assert health.record(Capability.COMMANDS, Outcome.SUCCESS, 130.0, vin=VIN) is True

    assert health.is_up(Capability.COMMANDS, 130.0, VIN)
    assert health.status(130.0) is CloudStatus.ONLINE


def test_probe_recovery_forgets_failures_the_outage_explains() -> None:
    health = AccountHealth(vins=[VIN])
    _down(health, Capability.DATA, 0.0)
    _down(health, Capability.AUTH, 0.0, vin=None)
    at = _probe_down(health, 10.0)

    at = _probe_up(health, at)

    assert health.status(at) is CloudStatus.ONLINE
    assert health.failing(at, VIN) == set()


def test_rejected_credentials_are_auth_failed_until_an_authenticated_success() -> None:
    health = AccountHealth(vins=[VIN])

    health.record(Capability.AUTH, Outcome.AUTH_FAILED, 0.0)
    assert health.status(0.0) is CloudStatus.ONLINE
    assert health.record(Capability.DATA, Outcome.AUTH_FAILED, 1.0, vin=VIN) is True

    assert health.status(1.0) is CloudStatus.AUTH_FAILED
    assert health.vehicle_status(VIN, 1.0) is CloudStatus.AUTH_FAILED
    assert health.failing(1.0, VIN) == set(Capability)
    assert health.is_up(Capability.DATA, 1.0, VIN) is False

    assert health.record(Capability.COMMANDS, Outcome.SUCCESS, 2.0, vin=VIN) is True
    assert health.status(2.0) is CloudStatus.ONLINE


def test_a_failing_token_endpoint_is_degraded_not_auth_failed() -> None:
    health = AccountHealth(vins=[VIN])
    _down(health, Capability.AUTH, 0.0, vin=None)

    assert health.status(5.0) is CloudStatus.DEGRADED
    assert health.vehicle_status(VIN, 5.0) is CloudStatus.DEGRADED
    assert health.failing(5.0) == {Capability.AUTH}
    assert health.is_up(Capability.COMMANDS, 5.0, VIN)


def test_outage_wins_over_auth_failed() -> None:
    health = AccountHealth()
    health.record(Capability.AUTH, Outcome.AUTH_FAILED, 0.0)
    health.record(Capability.AUTH, Outcome.AUTH_FAILED, 1.0)
    _probe_down(health, 2.0)

    assert health.status(10.0) is CloudStatus.OUTAGE


def test_rate_limit_lasts_until_retry_after() -> None:
    health = AccountHealth(vins=[VIN])

    assert (
        health.record(Capability.DATA, Outcome.RATE_LIMITED, 0.0, vin=VIN, retry_after=30) is True
    )

    assert health.status(10.0) is CloudStatus.RATE_LIMITED
    assert health.vehicle_status(VIN, 10.0) is CloudStatus.RATE_LIMITED
    assert health.vehicle_status(OTHER, 10.0) is CloudStatus.ONLINE
    assert health.is_rate_limited(10.0, VIN)
    assert not health.is_rate_limited(10.0)
    assert health.is_up(Capability.DATA, 10.0, VIN)
    assert health.refresh(10.0) is False
    assert health.refresh(30.0) is True
    assert health.status(30.0) is CloudStatus.ONLINE


def test_rate_limit_without_retry_after_uses_the_default() -> None:
    health = AccountHealth(vins=[VIN])
    health.record(Capability.COMMANDS, Outcome.RATE_LIMITED, 0.0)

    assert health.is_rate_limited(LIMITS.default_retry_after - 1, VIN)
    assert health.vehicle_status(VIN, LIMITS.default_retry_after - 1) is CloudStatus.RATE_LIMITED
    assert not health.is_rate_limited(LIMITS.default_retry_after, VIN)


def test_degraded_wins_over_rate_limited() -> None:
    health = AccountHealth(vins=[VIN])
    health.record_probe(Outcome.RATE_LIMITED, 0.0, retry_after=100)
    _down(health, Capability.DATA, 1.0)

    assert health.status(5.0) is CloudStatus.DEGRADED


def test_frozen_timestamp_while_the_car_is_awake_is_a_data_outage() -> None:
    health = AccountHealth(vins=[VIN])
    assert health.record_data_timestamp(VIN, 1_000, 0.0, True) is False
    assert health.record_data_timestamp(VIN, 1_000, LIMITS.stale_after, True) is False

    assert health.record_data_timestamp(VIN, 1_000, LIMITS.stale_after + 1, True) is True

    assert health.vehicle_status(VIN, LIMITS.stale_after + 1) is CloudStatus.DEGRADED
    assert health.failing(LIMITS.stale_after + 1, VIN) == {Capability.DATA}
    assert health.record_data_timestamp(VIN, 2_000, LIMITS.stale_after + 2, True) is True
    assert health.is_up(Capability.DATA, LIMITS.stale_after + 2, VIN)


def test_frozen_timestamp_of_a_sleeping_car_is_not_stale() -> None:
    health = AccountHealth(vins=[VIN])
    for at in (0.0, 1_000.0, 10_000.0):
        health.record_data_timestamp(VIN, 1_000, at, False)

    assert health.is_up(Capability.DATA, 10_000.0, VIN)


def test_stale_clock_starts_when_the_car_wakes() -> None:
    health = AccountHealth(vins=[VIN])
    health.record_data_timestamp(VIN, 1_000, 0.0, False)
    health.record_data_timestamp(VIN, 1_000, 5_000.0, True)
    health.record_data_timestamp(VIN, 1_000, 5_000.0 + LIMITS.stale_after - 1, True)
    assert health.is_up(Capability.DATA, 5_300.0, VIN)

    health.record_data_timestamp(VIN, 1_000, 5_001.0 + LIMITS.stale_after, True)
    assert not health.is_up(Capability.DATA, 5_301.0, VIN)

    health.record_data_timestamp(VIN, 1_000, 5_400.0, False)
    assert health.is_up(Capability.DATA, 5_400.0, VIN)


def test_stale_clock_starts_again_when_an_outage_ends() -> None:
    health = AccountHealth(vins=[VIN])
    health.record_data_timestamp(VIN, 1_000, 0.0, True)
    at = _probe_down(health, 10.0)
    at = _probe_up(health, at + 600)

    health.record_data_timestamp(VIN, 1_000, at + 1, True)
    assert health.status(at + 1) is CloudStatus.ONLINE
    health.record_data_timestamp(VIN, 1_000, at + LIMITS.stale_after + 1, True)
    assert health.status(at + LIMITS.stale_after + 1) is CloudStatus.DEGRADED


def test_records_report_only_visible_changes() -> None:
    health = AccountHealth(vins=[VIN])

    assert health.record(Capability.DATA, Outcome.SUCCESS, 0.0, vin=VIN) is False
    assert health.record(Capability.DATA, Outcome.SERVER_ERROR, 1.0, vin=VIN) is False
    assert health.record(Capability.DATA, Outcome.SERVER_ERROR, 2.0, vin=VIN) is True
    assert health.record(Capability.DATA, Outcome.SERVER_ERROR, 3.0, vin=VIN) is False
    assert health.record(Capability.DATA, Outcome.SUCCESS, 0.0, vin=OTHER) is True


def test_last_error_and_since() -> None:
    health = AccountHealth(vins=[VIN])
    health.record(Capability.DATA, Outcome.BAD_REQUEST, 5.0, vin=VIN)
    health.record(Capability.DATA, Outcome.ASLEEP, 6.0, vin=VIN)
    health.record(Capability.DATA, Outcome.SUCCESS, 7.0, vin=VIN)

    assert health.last_error is Outcome.BAD_REQUEST
    assert health.last_error_at == 5.0
    assert health.since == 5.0


def test_unknown_vehicle_is_not_tracked_by_asking() -> None:
    health = AccountHealth()

    assert health.vehicle_status(VIN, 0.0) is CloudStatus.ONLINE
    assert health.failing(0.0, VIN) == set()
    assert not health.is_rate_limited(0.0, VIN)
    assert health.vins == []


def test_snapshot_is_json_ready_and_keeps_vins_under_a_redactable_key() -> None:
    health = AccountHealth(vins=[VIN])
    _down(health, Capability.DATA, 0.0)
    health.record(Capability.COMMANDS, Outcome.RATE_LIMITED, 2.0, vin=VIN, retry_after=9)

    snapshot = json.loads(json.dumps(health.snapshot(3.0)))

    assert snapshot["status"] == "degraded"
    assert snapshot["failing"] == ["data"]
    assert snapshot["last_error"] == "rate_limited"
    assert snapshot["probe"]["phase"] == "up"
    assert snapshot["thresholds"]["probe_timeout"] == LIMITS.probe_timeout
    [vehicle] = snapshot["vehicles"]
    assert vehicle["vin"] == VIN
    assert vehicle["data"]["phase"] == "down"
    assert vehicle["rate_limited_until"] == 11.0
    assert VIN not in json.dumps({k: v for k, v in snapshot.items() if k != "vehicles"})


def test_thresholds_can_be_tuned() -> None:
    health = AccountHealth(Thresholds(probe_failures_to_down=1, probe_recovery_hold=0.0))

    health.record_probe(Outcome.TRANSPORT, 0.0)
    assert health.status(0.0) is CloudStatus.OUTAGE
    for at in (1.0, 2.0):
        health.record_probe(Outcome.SUCCESS, at)
    assert health.status(2.0) is CloudStatus.OUTAGE
    health.record_probe(Outcome.SUCCESS, 3.0)
    assert health.status(3.0) is CloudStatus.ONLINE


# A simulated schedule: the next request starts probe_interval after the last one finished, plus
# up to one second of scheduler slack and answer time. While healthy it is the heartbeat (the
# vehicle state call), once something failed the /status probe; a request into a silent cloud
# waits for its timeout even when the cloud comes back meanwhile.

LOUD_BUDGET = 75.0
SILENT_BUDGET = 100.0
RECOVERY_BUDGET = 90.0


def _run_probes(
    health: AccountHealth,
    cloud: Callable[[float], Cloud],
    start: float,
    end: float,
    slack: Callable[[], float],
) -> list[tuple[float, CloudStatus]]:
    changes: list[tuple[float, CloudStatus]] = []
    at = start
    while at < end:
        at += slack()
        beat = health.next_beat(at)
        match cloud(at):
            case "up":
                outcome = Outcome.SUCCESS
            case "5xx":
                outcome = Outcome.SERVER_ERROR
            case "refused":
                outcome = Outcome.TRANSPORT
            case "silent":
                outcome = Outcome.TRANSPORT
                at += health.heartbeat_timeout if beat is Beat.HEARTBEAT else health.probe_timeout
        if beat is Beat.HEARTBEAT:
            changed = health.record_heartbeat(VIN, outcome, at)
        else:
            changed = health.record_probe(outcome, at)
        if changed:
            changes.append((at, health.status(at)))
        at += health.probe_interval(at)
    return changes


_SLACK = st.one_of(
    st.sampled_from([0.0, 1.0]).map(lambda fixed: lambda: fixed),
    st.integers(0, 2**32).map(lambda seed: random.Random(seed).random),
)


def _first(changes: list[tuple[float, CloudStatus]], status: CloudStatus, after: float) -> float:
    return next(at for at, found in changes if found is status and at >= after)


@given(
    kind=st.sampled_from(["refused", "5xx", "silent"]),
    outage_start=st.floats(100.0, 200.0),
    outage_length=st.floats(SILENT_BUDGET + 20.0, 900.0),
    slack=_SLACK,
)
@settings(max_examples=200, deadline=None)
def test_outage_detection_and_recovery_meet_the_targets(
    kind: Cloud, outage_start: float, outage_length: float, slack: Callable[[], float]
) -> None:
    outage_end = outage_start + outage_length

    def cloud(at: float) -> Cloud:
        return kind if outage_start <= at < outage_end else "up"

    health = AccountHealth(vins=[VIN])
    changes = _run_probes(health, cloud, 0.0, outage_end + 120.0, slack)

    budget = SILENT_BUDGET if kind == "silent" else LOUD_BUDGET
    assert _first(changes, CloudStatus.OUTAGE, 0.0) - outage_start <= budget
    assert _first(changes, CloudStatus.ONLINE, outage_end) - outage_end <= RECOVERY_BUDGET
    assert [status for _, status in changes] == [CloudStatus.OUTAGE, CloudStatus.ONLINE]


@given(
    kind=st.sampled_from(["refused", "5xx", "silent"]),
    down_for=st.floats(3.5, 20.0),
    up_for=st.floats(0.5, 25.0),
    slack=_SLACK,
)
@settings(max_examples=200, deadline=None)
def test_a_flapping_cloud_turns_the_cloud_entity_off_at_most_once_until_it_holds(
    kind: Cloud, down_for: float, up_for: float, slack: Callable[[], float]
) -> None:
    flapping_end = 1_000.0

    def cloud(at: float) -> Cloud:
        if at < 100.0 or at >= flapping_end:
            return "up"
        return kind if (at - 100.0) % (down_for + up_for) < down_for else "up"

    health = AccountHealth(vins=[VIN])
    changes = _run_probes(health, cloud, 0.0, flapping_end + 300.0, slack)

    # The heartbeat is also the vehicle's data evidence, so heartbeats that fail between good
    # probes may mark the data degraded for a while; the connectivity entity follows the outage
    # alone, and that is declared at most once and ends only once the cloud holds.
    outage = [status is CloudStatus.OUTAGE for _, status in changes]
    turns = [now for before, now in zip([False, *outage], outage, strict=False) if now != before]
    ends = [
        at
        for (at, status), before in zip(changes, [False, *outage], strict=False)
        if before and status is not CloudStatus.OUTAGE
    ]
    assert turns in ([], [True], [True, False])
    assert all(at >= flapping_end for at in ends)
    if ends:
        assert ends[0] - flapping_end <= RECOVERY_BUDGET
    assert health.status(flapping_end + 300.0) is CloudStatus.ONLINE


_NOISE = [Outcome.SUCCESS, Outcome.ASLEEP, Outcome.BAD_REQUEST, Outcome.RATE_LIMITED]
_BLIPS = [Outcome.SERVER_ERROR, Outcome.TRANSPORT]
_TRACKERS: list[tuple[Capability | None, str | None]] = [
    (None, None),
    (Capability.AUTH, None),
    (Capability.DATA, VIN),
    (Capability.COMMANDS, VIN),
    (Capability.DATA, OTHER),
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(_TRACKERS),
            st.sampled_from(_NOISE + _BLIPS),
            st.floats(0.1, 1_800.0),
            st.one_of(st.none(), st.floats(1.0, 120.0)),
        ),
        max_size=120,
    )
)
@settings(deadline=None)
def test_a_day_of_sleep_wakes_rate_limits_and_single_blips_is_never_an_outage(
    events: list[tuple[tuple[Capability | None, str | None], Outcome, float, float | None]],
) -> None:
    health = AccountHealth(vins=[VIN, OTHER])
    last: dict[tuple[Capability | None, str | None], Outcome] = {}
    at = 0.0
    for tracker, drawn, step, retry_after in events:
        outcome = drawn
        if is_outage_evidence(outcome) and is_outage_evidence(last.get(tracker, Outcome.SUCCESS)):
            outcome = Outcome.SUCCESS
        last[tracker] = outcome
        at += step
        capability, vin = tracker
        if capability is None:
            health.record_probe(outcome, at, retry_after=retry_after)
        else:
            health.record(capability, outcome, at, vin=vin, retry_after=retry_after)
        assert health.status(at) in (CloudStatus.ONLINE, CloudStatus.RATE_LIMITED)
        assert health.failing(at) == set()


def _probe_starts(cloud: Callable[[float], Cloud], end: float) -> list[float]:
    starts: list[float] = []

    def watch(at: float) -> Cloud:
        starts.append(at)
        return cloud(at)

    _run_probes(AccountHealth(vins=[VIN]), watch, 0.0, end, lambda: 1.0)
    return starts


@pytest.mark.parametrize(
    ("kind", "budget"),
    [("refused", LOUD_BUDGET), ("5xx", LOUD_BUDGET), ("silent", SILENT_BUDGET)],
)
def test_outage_starting_just_after_a_heartbeat_is_declared_within_budget(
    kind: Cloud, budget: float
) -> None:
    start = next(at for at in _probe_starts(lambda _: "up", 400.0) if at > 100.0) + 1e-6

    def cloud(at: float) -> Cloud:
        return kind if at >= start else "up"

    changes = _run_probes(AccountHealth(vins=[VIN]), cloud, 0.0, start + 200.0, lambda: 1.0)

    assert _first(changes, CloudStatus.OUTAGE, start) - start <= budget
    assert _first(changes, CloudStatus.OUTAGE, start) - start > budget - 20.0


def test_recovery_just_after_a_silent_probe_started_is_within_budget() -> None:
    def outage(at: float) -> Cloud:
        return "silent" if at >= 100.0 else "up"

    end = next(at for at in _probe_starts(outage, 400.0) if at > 300.0) + 1e-6

    def cloud(at: float) -> Cloud:
        return "silent" if 100.0 <= at < end else "up"

    changes = _run_probes(AccountHealth(vins=[VIN]), cloud, 0.0, end + 180.0, lambda: 1.0)

    assert _first(changes, CloudStatus.ONLINE, end) - end <= RECOVERY_BUDGET
