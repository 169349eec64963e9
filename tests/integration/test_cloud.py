"""The cloud link classifies every outcome, over real loopback HTTP where the simulator can."""

from __future__ import annotations

import time
from email.utils import formatdate
from unittest.mock import MagicMock, patch

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from tesla_fleet_api.exceptions import (
    DeviceUnexpectedResponse,
    Forbidden,
    InsufficientCredits,
    InternalServerError,
    InvalidRegion,
    Locked,
    MobileAccessDisabled,
    OAuthExpired,
    PreconditionFailed,
    RateLimited,
    ResponseError,
    ServiceUnavailable,
    SubscriptionRequired,
    UnsupportedVehicle,
    VehicleSubscriptionRequired,
)
from tesla_fleet_api.exceptions import PaymentRequired as TeslaPaymentRequired

from custom_components.tesla_resilient.cloud import CloudLink
from custom_components.tesla_resilient.cloud_data import snapshot_from_vehicle_data
from custom_components.tesla_resilient.cloud_errors import (
    AccountBlocked,
    CloudAuthError,
    CloudBadRequest,
    CloudError,
    CloudRateLimited,
    CloudServerError,
    CloudTransportError,
    CommandRejected,
    MissingScopes,
    OutcomeReport,
    PaymentRequired,
    RegionNotRegistered,
    Request,
    SigningRequired,
    VehicleAsleep,
    VehicleUnavailable,
    WrongRegion,
    classify,
)
from custom_components.tesla_resilient.cloud_session import cloud_session
from custom_components.tesla_resilient.health import Capability, Outcome
from custom_components.tesla_resilient.state import Field
from custom_components.tesla_resilient.tokens import StaticToken, token_scopes, token_subject
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import CommandSigning, VirtualCar

from .common import VIN


@pytest.fixture
def reports() -> list[OutcomeReport]:
    return []


@pytest.fixture
async def link(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, clock: FakeClock, reports: list
) -> CloudLink:
    link = CloudLink(
        cloud_session(hass),
        fleet_api.base_url,
        StaticToken(fleet_api.access_token),
        monotonic=clock,
    )
    link.add_outcome_listener(reports.append)
    return link


async def test_every_call_succeeds_and_is_reported(
    link: CloudLink, car: VirtualCar, clock: FakeClock, reports: list[OutcomeReport]
) -> None:
    car.command_signing = CommandSigning.OFF  # a car that takes plain REST commands
    await link.status()
    assert [vehicle.vin for vehicle in await link.products()] == [VIN]
    assert await link.vehicle_state(VIN) == "online"
    snapshot = await link.vehicle_data(VIN)
    assert snapshot.timestamp == clock.wall()
    assert snapshot.values[Field.BATTERY_LEVEL] == 72
    assert snapshot.values[Field.LATITUDE] == car.latitude
    assert await link.wake_up(VIN) == "online"
    await link.command(VIN, "set_charge_limit", percent=60)
    assert car.charge_limit_soc == 60
    assert await link.account_id() == "00000000-0000-4000-8000-000000000001"
    assert await link.region_server() == link.base_url

    assert [report.request for report in reports] == [
        Request.STATUS,
        Request.PRODUCTS,
        Request.VEHICLE_STATE,
        Request.VEHICLE_DATA,
        Request.WAKE_UP,
        Request.COMMAND,
        Request.ACCOUNT,
        Request.REGION,
    ]
    assert {report.outcome for report in reports} == {Outcome.SUCCESS}
    assert reports[3].data_timestamp_ms == int(clock.wall() * 1000)
    assert reports[3].vin == VIN
    assert reports[3].at == clock()
    assert Request.STATUS.capability is None
    assert Request.COMMAND.capability is Capability.COMMANDS


async def test_location_only_when_granted(link: CloudLink) -> None:
    snapshot = await link.vehicle_data(VIN, location=False)
    assert Field.LATITUDE not in snapshot.values
    assert Field.SHIFT_STATE in snapshot.values


@pytest.mark.parametrize(
    ("fault", "error", "outcome", "sent"),
    [
        (FaultKind.SERVER_ERROR, CloudServerError, Outcome.SERVER_ERROR, True),
        (FaultKind.RATE_LIMITED, CloudRateLimited, Outcome.RATE_LIMITED, True),
        (FaultKind.TOKEN_EXPIRED, CloudAuthError, Outcome.AUTH_FAILED, True),
        (FaultKind.DATA_ONLY, CloudServerError, Outcome.SERVER_ERROR, True),
    ],
)
async def test_answers_are_classified(
    link: CloudLink,
    fleet_api: FleetApiSimulator,
    reports: list[OutcomeReport],
    fault: FaultKind,
    error: type[CloudError],
    outcome: Outcome,
    sent: bool,
) -> None:
    fleet_api.set_fault(fault, retry_after_s=42)
    with pytest.raises(error) as err:
        await link.vehicle_data(VIN)
    assert err.value.outcome is outcome
    assert err.value.sent is sent
    assert reports[-1].outcome is outcome
    assert reports[-1].request is Request.VEHICLE_DATA
    if fault is FaultKind.RATE_LIMITED:
        assert err.value.retry_after == 42
        assert reports[-1].retry_after == 42


async def test_refused_is_not_sent(link: CloudLink, fleet_api: FleetApiSimulator) -> None:
    await link.status()
    fleet_api.set_fault(FaultKind.REFUSED)
    with pytest.raises(CloudTransportError):
        await link.vehicle_state(VIN)
    with pytest.raises(CloudTransportError) as err:
        await link.command(VIN, "honk_horn")
    assert err.value.sent is False


async def test_moving_to_another_server_takes_effect_at_the_next_request(
    link: CloudLink, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    car.command_signing = CommandSigning.OFF  # a car that takes plain REST commands
    home = link.base_url
    link.base_url = "http://127.0.0.1:9/"
    assert link.base_url == "http://127.0.0.1:9"
    with pytest.raises(CloudTransportError) as err:
        await link.command(VIN, "door_lock")
    assert err.value.sent is False
    assert not car.executions["door_lock"]
    link.base_url = home
    await link.command(VIN, "door_lock")
    assert car.executions["door_lock"] == 1


@pytest.mark.freeze_time(tick=True)
async def test_silence_is_maybe_sent(
    link: CloudLink, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.BLACK_HOLE)
    with (
        patch("custom_components.tesla_resilient.cloud.REQUEST_TIMEOUT", 0.05),
        pytest.raises(CloudTransportError) as err,
    ):
        await link.command(VIN, "door_unlock")
    assert err.value.sent is True
    assert car.locked is True


async def test_status_probe(link: CloudLink, fleet_api: FleetApiSimulator) -> None:
    fleet_api.set_fault(FaultKind.RATE_LIMITED)
    await link.status()
    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    with pytest.raises(CloudServerError):
        await link.status()


async def test_asleep_car(link: CloudLink, car: VirtualCar) -> None:
    car.sleep_now()
    assert await link.vehicle_state(VIN) == "asleep"
    with pytest.raises(VehicleAsleep) as err:
        await link.vehicle_data(VIN)
    assert err.value.outcome is Outcome.ASLEEP
    assert await link.wake_up(VIN) == "asleep"


async def test_car_refusals(link: CloudLink, car: VirtualCar) -> None:
    car.command_signing = CommandSigning.OFF  # a car that takes plain REST commands
    await link.command(VIN, "charge_stop")
    with pytest.raises(CommandRejected) as err:
        await link.command(VIN, "charge_port_door_close")
    assert err.value.reason == "cable connected"
    assert err.value.outcome is Outcome.BAD_REQUEST
    for name in ("../wake_up", "wake_up", "remote_boombox"):
        with pytest.raises(CloudBadRequest) as unknown:
            await link.command(VIN, name)
        assert not unknown.value.sent
    assert not car.executions["wake_up"]


async def test_unknown_vehicle_is_a_bad_request(link: CloudLink) -> None:
    with pytest.raises(CloudError) as err:
        await link.vehicle_state("NOSUCHVIN")
    assert err.value.outcome is Outcome.BAD_REQUEST


async def test_token_claims(fleet_api: FleetApiSimulator) -> None:
    token = fleet_api.access_token
    assert "vehicle_location" in (token_scopes(token) or ())
    assert token_subject(token)
    assert token_scopes("opaque") is None
    assert token_subject("opaque") is None


def test_errors_name_no_secret() -> None:
    err = classify(RateLimited({"after": "17", "token": "s3cret"}))
    assert "s3cret" not in str(err)
    assert err.retry_after == 17


VCP_REQUIRED_BODY = (
    "Tesla Vehicle Command Protocol required, please refer to the documentation here: "
    "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-"
    "deprecation-warning"
)
"""Tesla's answer to a plain REST command for a car that signs (alandtse/tesla#858)."""


def _body(error: str) -> dict[str, object]:
    return {"response": None, "error": error, "error_description": ""}


def _connection_key() -> MagicMock:
    return MagicMock(ssl=True, host="fleet-api.example", port=443)


@pytest.mark.parametrize(
    ("raised", "outcome", "sent"),
    [
        (aiohttp.ClientConnectorDNSError(_connection_key(), OSError()), Outcome.TRANSPORT, False),
        (aiohttp.ClientConnectorSSLError(_connection_key(), OSError()), Outcome.TRANSPORT, False),
        (aiohttp.ConnectionTimeoutError(), Outcome.TRANSPORT, False),
        (aiohttp.ServerDisconnectedError(), Outcome.TRANSPORT, True),
        (aiohttp.ClientPayloadError(), Outcome.TRANSPORT, True),
        (TimeoutError(), Outcome.TRANSPORT, True),
        (aiohttp.InvalidURL("nope"), Outcome.BAD_REQUEST, False),
        (ResponseError(status=200), Outcome.SERVER_ERROR, True),
        (ResponseError(status=502), Outcome.SERVER_ERROR, True),
        (ResponseError(status=404), Outcome.BAD_REQUEST, True),
        (InternalServerError(), Outcome.SERVER_ERROR, True),
        (DeviceUnexpectedResponse(), Outcome.VEHICLE_UNAVAILABLE, True),
        (ServiceUnavailable(_body("vehicle is not available")), Outcome.VEHICLE_UNAVAILABLE, True),
        (ServiceUnavailable(), Outcome.SERVER_ERROR, True),
        (Forbidden(), Outcome.BAD_REQUEST, True),
        (Forbidden(_body(VCP_REQUIRED_BODY)), Outcome.BAD_REQUEST, True),
        (Forbidden(_body("Unauthorized missing scopes")), Outcome.BAD_REQUEST, True),
        (Forbidden(_body("invalid bearer token")), Outcome.AUTH_FAILED, True),
        (OAuthExpired(), Outcome.AUTH_FAILED, True),
        (PreconditionFailed(), Outcome.BAD_REQUEST, True),
        (Locked(), Outcome.BAD_REQUEST, True),
        (MobileAccessDisabled(), Outcome.BAD_REQUEST, True),
        (UnsupportedVehicle(), Outcome.BAD_REQUEST, True),
        (InvalidRegion(), Outcome.BAD_REQUEST, True),
        (RateLimited({"after": None}), Outcome.RATE_LIMITED, True),
        (ValueError("not json"), Outcome.SERVER_ERROR, True),
    ],
)
def test_classify(raised: BaseException, outcome: Outcome, sent: bool) -> None:
    err = classify(raised)
    assert err.outcome is outcome
    assert err.sent is sent


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (Forbidden(_body(VCP_REQUIRED_BODY)), SigningRequired),
        (Forbidden(_body("Unauthorized missing scopes")), MissingScopes),
        (
            PreconditionFailed(_body("Account must be registered in the current region")),
            RegionNotRegistered,
        ),
        (Locked(), AccountBlocked),
        (ServiceUnavailable(_body("vehicle is not available")), VehicleUnavailable),
        (DeviceUnexpectedResponse(), VehicleUnavailable),
    ],
)
def test_tesla_answers_read_by_body(raised: BaseException, kind: type[CloudError]) -> None:
    """Only token failures are auth failures: a 403 for signing or scopes is not one."""
    err = classify(raised)
    assert type(err) is kind
    assert not isinstance(err, CloudAuthError)


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (TeslaPaymentRequired(), ""),
        (SubscriptionRequired(_body("subscription_required")), "subscription_required"),
        (
            VehicleSubscriptionRequired(_body("vehicle_subscription_required")),
            "vehicle_subscription_required",
        ),
        (InsufficientCredits(_body("insufficient_credits")), "insufficient_credits"),
    ],
)
def test_a_402_is_the_bill_with_its_reason(raised: BaseException, reason: str) -> None:
    """Each 402 the library knows is the provider's bill, never the sign-in; nothing ran."""
    err = classify(raised)
    assert isinstance(err, PaymentRequired)
    assert err.reason == reason
    assert not isinstance(err, CloudAuthError)


def test_wrong_region_names_the_server() -> None:
    body = _body("user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com")
    err = classify(InvalidRegion(body))
    assert isinstance(err, WrongRegion)
    assert err.base_url == "https://fleet-api.prd.eu.vn.cloud.tesla.com"
    assert classify(InvalidRegion()).base_url is None  # type: ignore[attr-defined]


def test_retry_after_as_http_date() -> None:
    err = classify(RateLimited({"after": formatdate(time.time() + 120, usegmt=True)}))
    assert err.retry_after is not None
    assert 100 < err.retry_after <= 120
    assert classify(RateLimited({"after": "soon"})).retry_after is None


def test_vehicle_data_mapping() -> None:
    snapshot = snapshot_from_vehicle_data(
        {
            "charge_state": {"charging_state": "NoPower", "timestamp": 1_700_000_000_000},
            "drive_state": {"shift_state": "D", "speed": 42},
            "vehicle_state": {"car_version": "2025.2.6 abcdef", "df": 1},
            "climate_state": "unexpected",
        }
    )
    assert snapshot.timestamp == 1_700_000_000
    assert snapshot.values[Field.CHARGING_STATE] == "no_power"
    assert snapshot.values[Field.CHARGING] is False
    assert snapshot.values[Field.CABLE_CONNECTED] is True
    assert snapshot.values[Field.SHIFT_STATE] == "d"
    assert snapshot.values[Field.SPEED] == 42
    assert snapshot.values[Field.SOFTWARE_VERSION] == "2025.2.6"
    assert snapshot.values[Field.DOOR_DF] is True
    assert Field.INSIDE_TEMP not in snapshot.values
    assert snapshot_from_vehicle_data({}).timestamp is None
