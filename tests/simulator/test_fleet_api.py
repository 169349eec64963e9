"""The simulated Fleet API, spoken to over real loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import (
    InvalidCommand,
    NotFound,
    OAuthExpired,
    RateLimited,
    ServiceUnavailable,
    VehicleOffline,
)
from tesla_fleet_api.tesla.vehicle.fleet import VehicleFleet

from simulator.__main__ import parse_args, serve
from simulator.billing import Billing
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator, RequestRecord
from simulator.vehicle import CommandSigning, SleepModel, VirtualCar, sleep_model_for

ALL_ENDPOINTS = "charge_state;climate_state;drive_state;location_data;vehicle_state;vehicle_config"
SHORT = aiohttp.ClientTimeout(total=0.3)


@pytest.fixture
def plain_rest(car: VirtualCar) -> None:
    """Let the car take plain REST commands, as a pre-2021 Model S or X does."""
    car.command_signing = CommandSigning.OFF


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def vehicle(session: aiohttp.ClientSession, fleet_api: FleetApiSimulator) -> VehicleFleet:
    """tesla-fleet-api's client for the simulated account's car."""
    return fleet(session, fleet_api)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fleet(session: aiohttp.ClientSession, sim: FleetApiSimulator, token: str = "") -> VehicleFleet:
    api = TeslaFleetApi(
        session=session, access_token=token or sim.access_token, server=sim.base_url
    )
    return api.vehicles.createFleet(sim.cars[0].vin)


async def get(
    session: aiohttp.ClientSession, sim: FleetApiSimulator, path: str, **kwargs: Any
) -> tuple[int, Any]:
    kwargs.setdefault("headers", bearer(sim.access_token))
    async with session.get(f"{sim.base_url}{path}", **kwargs) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


async def post(
    session: aiohttp.ClientSession, sim: FleetApiSimulator, path: str, **kwargs: Any
) -> tuple[int, Any]:
    kwargs.setdefault("headers", bearer(sim.access_token))
    async with session.post(f"{sim.base_url}{path}", **kwargs) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


async def settle(condition: Callable[[], bool]) -> None:
    """Let the event loop run until the condition holds."""
    for _ in range(5_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


# -- plumbing ------------------------------------------------------------------------------------


async def test_reachable_from_home_assistant_session(
    hass: HomeAssistant, fleet_api: FleetApiSimulator
) -> None:
    session = async_get_clientsession(hass)
    async with session.get(f"{fleet_api.base_url}/status") as resp:
        assert resp.status == 200
        assert await resp.text() == "ok"


async def test_status_needs_no_token_and_is_free(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    api = TeslaFleetApi(session=session, server=fleet_api.base_url)
    assert await api.status() == "ok"
    assert fleet_api.billing == Billing(free=1)
    assert fleet_api.requests == [RequestRecord("GET", "/status", 200, fleet_api.requests[0].at)]


async def test_requests_are_recorded_at_the_injected_clock(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, clock: FakeClock
) -> None:
    clock.advance(12.5)
    await get(session, fleet_api, "/api/1/vehicles/nope")
    assert fleet_api.requests == [
        RequestRecord("GET", "/api/1/vehicles/nope", 404, clock.now),
    ]


# -- OAuth ---------------------------------------------------------------------------------------


async def test_authorization_code_flow(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    redirect = "https://my.home-assistant.io/redirect/oauth"
    async with session.get(
        f"{fleet_api.base_url}/oauth2/v3/authorize",
        params={
            "response_type": "code",
            "client_id": fleet_api.client_id,
            "redirect_uri": redirect,
            "scope": "openid offline_access vehicle_device_data vehicle_cmds",
            "state": "xyz",
        },
        allow_redirects=False,
    ) as resp:
        assert resp.status == 302
        location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "client_id": fleet_api.client_id,
        "client_secret": fleet_api.client_secret,
        "code": query["code"][0],
        "redirect_uri": redirect,
    }
    status, tokens = await post(session, fleet_api, "/oauth2/v3/token", data=form, headers={})
    assert status == 200
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 8 * 3600
    assert {"access_token", "refresh_token", "id_token"} <= tokens.keys()
    assert jwt_claims(tokens["access_token"])["scp"] == [
        "openid",
        "offline_access",
        "vehicle_device_data",
        "vehicle_cmds",
    ]
    status, _ = await get(
        session, fleet_api, "/api/1/products", headers=bearer(tokens["access_token"])
    )
    assert status == 200

    status, body = await post(session, fleet_api, "/oauth2/v3/token", data=form, headers={})
    assert (status, body["error"]) == (400, "invalid_auth_code")
    assert fleet_api.billing.data == 1


async def test_token_endpoint_rejects_wrong_client_and_grant(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    status, body = await post(
        session,
        fleet_api,
        "/oauth2/v3/token",
        headers={},
        data={"grant_type": "refresh_token", "client_id": "other", "refresh_token": "x"},
    )
    assert (status, body["error"]) == (400, "unauthorized_client")
    status, body = await post(
        session,
        fleet_api,
        "/oauth2/v3/token",
        headers={},
        data={"grant_type": "password", "client_id": fleet_api.client_id},
    )
    assert (status, body["error"]) == (400, "invalid_request")


async def test_access_token_expires_by_clock_and_refresh_issues_a_new_one(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, clock: FakeClock
) -> None:
    token, refresh = fleet_api.access_token, fleet_api.refresh_token
    vehicle = fleet(session, fleet_api, token)
    await vehicle.vehicle()
    clock.advance(8 * 3600 - 1)
    await vehicle.vehicle()
    clock.advance(1)
    with pytest.raises(OAuthExpired):
        await vehicle.vehicle()

    status, tokens = await post(
        session,
        fleet_api,
        "/oauth2/v3/token",
        headers={},
        json={
            "grant_type": "refresh_token",
            "client_id": fleet_api.client_id,
            "refresh_token": refresh,
        },
    )
    assert status == 200
    assert tokens["access_token"] != token
    assert tokens["expires_in"] == 8 * 3600
    assert (await fleet(session, fleet_api, tokens["access_token"]).vehicle())["response"]
    assert fleet_api.access_token == tokens["access_token"]


async def test_wrong_refresh_token_means_login_required(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    status, body = await post(
        session,
        fleet_api,
        "/oauth2/v3/token",
        headers={},
        data={
            "grant_type": "refresh_token",
            "client_id": fleet_api.client_id,
            "refresh_token": "EU_not-a-token",
        },
    )
    assert (status, body["error"]) == (401, "login_required")


@pytest.mark.parametrize("headers", [{}, bearer("forged"), {"Authorization": "Basic abc"}])
async def test_missing_or_invalid_token_is_401(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, headers: dict[str, str]
) -> None:
    status, _ = await get(session, fleet_api, "/api/1/products", headers=headers)
    assert status == 401
    api = TeslaFleetApi(session=session, access_token="forged", server=fleet_api.base_url)
    with pytest.raises(OAuthExpired):
        await api.products()
    assert fleet_api.billing == Billing(data=2)


async def test_access_tokens_are_jwts_for_the_region(fleet_api: FleetApiSimulator) -> None:
    claims = jwt_claims(fleet_api.access_token)
    assert claims["ou_code"] == "EU"
    assert fleet_api.base_url in claims["aud"]
    assert claims["exp"] - claims["iat"] == 8 * 3600


# -- account and listings ------------------------------------------------------------------------


async def test_region_and_me_are_billed_as_data(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    api = TeslaFleetApi(session=session, access_token=fleet_api.access_token, server="x")
    api.server = fleet_api.base_url
    assert await api.user.region() == {
        "response": {"region": "eu", "fleet_api_base_url": fleet_api.base_url}
    }
    assert (await api.user.me())["response"]["email"]
    assert fleet_api.billing == Billing(data=2)


async def test_products_and_vehicle_list_are_billed_data(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    api = TeslaFleetApi(
        session=session, access_token=fleet_api.access_token, server=fleet_api.base_url
    )
    products = (await api.products())["response"]
    vehicles = await api.vehicles.createFleet(car.vin).list()
    assert products == vehicles["response"]
    assert vehicles["count"] == 1
    (product,) = products
    assert product["vin"] == car.vin
    assert product["display_name"] == car.display_name
    assert product["vehicle_id"] == car.vehicle_id
    assert product["state"] == "online"
    assert product["access_type"] == "OWNER"
    assert str(product["id"]) == product["id_s"]
    assert fleet_api.billing == Billing(data=2)


async def test_several_cars(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    first = VirtualCar(clock=clock, wall_clock=clock.wall)
    second = VirtualCar(vin="5YJ3E7EB0NF000002", display_name="Second", clock=clock)
    second.sleep_now()
    sim = FleetApiSimulator([first, second], clock=clock)
    await sim.start()
    try:
        status, body = await get(session, sim, "/api/1/products")
        assert status == 200
        assert {(p["vin"], p["state"]) for p in body["response"]} == {
            (first.vin, "online"),
            (second.vin, "asleep"),
        }
        assert sim.car(second.vin) is second
        status, _ = await get(session, sim, f"/api/1/vehicles/{second.vin}/vehicle_data")
        assert status == 408
        status, _ = await get(session, sim, f"/api/1/vehicles/{first.vin}/vehicle_data")
        assert status == 200
    finally:
        await sim.stop()


async def test_unknown_vehicle_is_404(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    api = TeslaFleetApi(
        session=session, access_token=fleet_api.access_token, server=fleet_api.base_url
    )
    vehicle = api.vehicles.createFleet("5YJ3E7EB0NF999999")
    for call in (vehicle.vehicle, vehicle.vehicle_data, vehicle.wake_up, vehicle.door_lock):
        with pytest.raises(NotFound):
            await call()
    assert fleet_api.billing == Billing(data=1, commands=1, wakes=1, free=1)


async def test_vehicle_found_by_numeric_id(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    _, products = await get(session, fleet_api, "/api/1/products")
    vehicle_id = products["response"][0]["id"]
    status, body = await get(session, fleet_api, f"/api/1/vehicles/{vehicle_id}")
    assert (status, body["response"]["vin"]) == (200, fleet_api.cars[0].vin)


# -- vehicle data, sleep and wake ----------------------------------------------------------------


async def test_vehicle_data_has_the_documented_shape(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    data = (await fleet(session, fleet_api).vehicle_data(ALL_ENDPOINTS.split(";")))["response"]
    assert data["vin"] == car.vin
    assert data["state"] == "online"
    stamp = int(car.wall_clock() * 1000)
    for section in (
        "charge_state",
        "climate_state",
        "drive_state",
        "vehicle_state",
        "vehicle_config",
    ):
        assert data[section]["timestamp"] == stamp
    assert "gui_settings" not in data
    assert data["charge_state"]["battery_level"] == car.battery_level
    assert data["charge_state"]["charge_limit_soc"] == car.charge_limit_soc
    assert data["charge_state"]["charging_state"] == car.charging_state
    assert data["climate_state"]["inside_temp"] == car.inside_temp_c
    assert data["climate_state"]["driver_temp_setting"] == car.driver_temp_setting_c
    assert (data["drive_state"]["latitude"], data["drive_state"]["longitude"]) == (
        car.latitude,
        car.longitude,
    )
    state = data["vehicle_state"]
    assert state["locked"] is True
    assert [state[d] for d in ("df", "dr", "pf", "pr")] == [0, 0, 0, 0]
    assert (state["rt"], state["ft"]) == (0, 0)
    assert state["fd_window"] == 0
    assert state["sentry_mode"] is False
    assert state["odometer"] == car.odometer_mi
    assert state["car_version"] == car.car_version
    assert state["tpms_pressure_fl"] == car.tpms_bar["fl"]
    assert state["is_user_present"] is False


async def test_location_only_when_asked_for(
    vehicle: VehicleFleet, fleet_api: FleetApiSimulator
) -> None:
    default = (await vehicle.vehicle_data())["response"]
    assert "gui_settings" in default
    assert "latitude" not in default["drive_state"]
    without = (await vehicle.vehicle_data(["drive_state", "charge_state"]))["response"]
    assert set(without) >= {"drive_state", "charge_state"}
    assert "climate_state" not in without
    assert "longitude" not in without["drive_state"]
    only_location = (await vehicle.vehicle_data(["location_data"]))["response"]
    assert "latitude" in only_location["drive_state"]


@pytest.mark.usefixtures("plain_rest")
async def test_sleeping_car_answers_408_and_the_free_state_call(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    car.sleep_now()
    vehicle = fleet(session, fleet_api)
    with pytest.raises(VehicleOffline):
        await vehicle.vehicle_data()
    with pytest.raises(VehicleOffline):
        await vehicle.door_lock()
    for _ in range(3):
        assert (await vehicle.vehicle())["response"]["state"] == "asleep"
    assert car.asleep
    assert not car.wakes
    assert fleet_api.billing == Billing(data=1, commands=1, free=3)


async def test_a_car_kept_awake_by_vehicle_data_sleeps_once_it_stops(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar, clock: FakeClock
) -> None:
    car.sleep_model = SleepModel.KEPT_AWAKE
    vehicle = fleet(session, fleet_api)
    clock.advance(car.idle_sleep_s - 1)
    await vehicle.vehicle_data()
    clock.advance(car.idle_sleep_s - 1)
    assert (await vehicle.vehicle())["response"]["state"] == "online"
    clock.advance(1)
    assert (await vehicle.vehicle())["response"]["state"] == "asleep"


async def test_a_newer_car_falls_asleep_whatever_vehicle_data_does(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar, clock: FakeClock
) -> None:
    assert car.sleep_model is SleepModel.SLEEPS
    vehicle = fleet(session, fleet_api)
    for _ in range(3):
        clock.advance(car.idle_sleep_s / 4)
        await vehicle.vehicle_data()
    clock.advance(car.idle_sleep_s / 4)
    assert (await vehicle.vehicle())["response"]["state"] == "asleep"
    assert fleet_api.billing == Billing(data=3, free=1)


@pytest.mark.parametrize(
    ("vin", "model"),
    [
        ("5YJSA1E2XLF000001", SleepModel.KEPT_AWAKE),
        ("5YJXCAE2XKF000001", SleepModel.KEPT_AWAKE),
        ("5YJSA1E23MF000001", SleepModel.KEPT_AWAKE),
        ("5YJSA1E76MF000001", SleepModel.SLEEPS),
        ("5YJSA1E2XNF000001", SleepModel.SLEEPS),
        ("5YJ3E7EB0KF000001", SleepModel.SLEEPS),
    ],
)
def test_sleep_model_follows_the_vin_unless_chosen(vin: str, model: SleepModel) -> None:
    assert sleep_model_for(vin) is model
    assert VirtualCar(vin=vin).sleep_model is model
    other = SleepModel.SLEEPS if model is SleepModel.KEPT_AWAKE else SleepModel.KEPT_AWAKE
    assert VirtualCar(vin=vin, sleep_model=other).sleep_model is other


async def test_wake_up_takes_the_cars_wake_duration(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar, clock: FakeClock
) -> None:
    car.sleep_now()
    vehicle = fleet(session, fleet_api)
    assert (await vehicle.wake_up())["response"]["state"] == "asleep"
    clock.advance(car.wake_duration_s - 0.5)
    assert (await vehicle.vehicle())["response"]["state"] == "asleep"
    with pytest.raises(VehicleOffline):
        await vehicle.vehicle_data()
    clock.advance(0.5)
    assert (await vehicle.vehicle())["response"]["state"] == "online"
    assert (await vehicle.wake_up())["response"]["state"] == "online"
    assert car.wakes == {"cloud": 1}
    assert fleet_api.billing.wakes == 2


# -- commands ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("plain_rest")
async def test_unlock_and_lock_change_vehicle_data(
    vehicle: VehicleFleet, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    assert await vehicle.door_unlock() == {"response": {"result": True, "reason": ""}}
    assert (await vehicle.vehicle_data(["vehicle_state"]))["response"]["vehicle_state"][
        "locked"
    ] is False
    await vehicle.door_lock()
    assert (await vehicle.vehicle_data(["vehicle_state"]))["response"]["vehicle_state"][
        "locked"
    ] is True
    assert car.executions["cloud:door_unlock"] == 1
    assert car.executions["cloud:door_lock"] == 1


@pytest.mark.usefixtures("plain_rest")
async def test_commands_with_documented_bodies(
    vehicle: VehicleFleet, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    await vehicle.set_temps(driver_temp=23.5, passenger_temp=22.0)
    await vehicle.set_charge_limit(percent=90)
    await vehicle.set_charging_amps(charging_amps=11)
    await vehicle.actuate_trunk("rear")
    await vehicle.actuate_trunk("front")
    await vehicle.set_sentry_mode(on=True)
    await vehicle.window_control("vent", lat=car.latitude, lon=car.longitude)
    await vehicle.auto_conditioning_start()
    await vehicle.charge_start()
    await vehicle.flash_lights()
    await vehicle.honk_horn()
    data = (await vehicle.vehicle_data())["response"]
    assert data["climate_state"]["driver_temp_setting"] == 23.5
    assert data["climate_state"]["passenger_temp_setting"] == 22.0
    assert data["climate_state"]["is_climate_on"] is True
    assert data["charge_state"]["charge_limit_soc"] == 90
    assert data["charge_state"]["charge_current_request"] == 11
    assert data["charge_state"]["charging_state"] == "Charging"
    assert (data["vehicle_state"]["rt"], data["vehicle_state"]["ft"]) == (1, 1)
    assert data["vehicle_state"]["sentry_mode"] is True
    assert data["vehicle_state"]["fd_window"] == 1
    assert car.executions["cloud:honk_horn"] == 1
    assert car.executions["cloud:flash_lights"] == 1
    assert fleet_api.billing.commands == 11


@pytest.mark.usefixtures("plain_rest")
async def test_command_the_car_refuses_reports_its_reason(
    vehicle: VehicleFleet, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    assert await vehicle.charge_stop() == {"response": {"result": False, "reason": "not_charging"}}
    result = await vehicle.set_charge_limit(percent=20)
    assert result["response"] == {"result": False, "reason": "percent out of range"}
    assert car.charge_limit_soc == 80


async def test_unknown_command_and_bad_body_are_400(
    session: aiohttp.ClientSession,
    vehicle: VehicleFleet,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
) -> None:
    with pytest.raises(InvalidCommand):
        await vehicle.media_next_track()
    status, body = await post(
        session,
        fleet_api,
        f"/api/1/vehicles/{car.vin}/command/set_temps",
        data="not json",
        headers={**bearer(fleet_api.access_token), "Content-Type": "application/json"},
    )
    assert (status, body["error"]) == (400, "invalid_request")
    assert not car.executions


# -- billing -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("plain_rest")
async def test_billing_counts_at_tesla_prices(
    session: aiohttp.ClientSession, vehicle: VehicleFleet, fleet_api: FleetApiSimulator
) -> None:
    for _ in range(5):
        await vehicle.vehicle_data()
    await vehicle.door_lock()
    await vehicle.door_lock()
    await vehicle.wake_up()
    await vehicle.vehicle()
    await TeslaFleetApi(session=session, server=fleet_api.base_url).status()
    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    with pytest.raises(ServiceUnavailable):
        await vehicle.vehicle_data()
    assert fleet_api.billing == Billing(data=5, commands=2, wakes=1, free=3)
    assert fleet_api.billing.cost_usd == pytest.approx(5 / 500 + 2 / 1000 + 1 / 50)
    fleet_api.billing.reset()
    assert fleet_api.billing == Billing()
    assert fleet_api.billing.cost_usd == 0


# -- faults --------------------------------------------------------------------------------------


async def test_refused_really_refuses_and_comes_back_on_the_same_port(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    url = fleet_api.base_url
    assert (await get(session, fleet_api, "/status"))[0] == 200
    fleet_api.set_fault(FaultKind.REFUSED)
    for _ in range(2):
        with pytest.raises(aiohttp.ClientConnectorError):
            await get(session, fleet_api, "/status")
    with pytest.raises(aiohttp.ClientConnectorError):
        await fleet(session, fleet_api).vehicle_data()
    fleet_api.clear_fault()
    assert fleet_api.base_url == url
    assert (await get(session, fleet_api, "/status"))[0] == 200
    assert [r.status for r in fleet_api.requests] == [200, 200]


async def test_refused_from_the_start(session: aiohttp.ClientSession, car: VirtualCar) -> None:
    sim = FleetApiSimulator(car, clock=car.clock)
    sim.set_fault(FaultKind.REFUSED)
    await sim.start()
    try:
        with pytest.raises(aiohttp.ClientConnectorError):
            await get(session, sim, "/status")
        sim.clear_fault()
        assert (await get(session, sim, "/status"))[0] == 200
    finally:
        await sim.stop()


async def test_server_error_is_503_everywhere_and_free(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    vehicle = fleet(session, fleet_api)
    assert (await get(session, fleet_api, "/status"))[0] == 503
    for call in (vehicle.vehicle_data, vehicle.vehicle, vehicle.wake_up, vehicle.door_unlock):
        with pytest.raises(ServiceUnavailable):
            await call()
    status, _ = await post(
        session, fleet_api, "/oauth2/v3/token", headers={}, data={"grant_type": "refresh_token"}
    )
    assert status == 503
    assert car.locked
    assert fleet_api.billing == Billing(free=6)


async def test_black_hole_accepts_and_never_answers(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.BLACK_HOLE)
    with pytest.raises(TimeoutError):
        await get(session, fleet_api, "/status", timeout=SHORT)
    held = asyncio.ensure_future(fleet(session, fleet_api).door_unlock())
    await settle(lambda: len(fleet_api.requests) == 2)
    assert [r.status for r in fleet_api.requests] == [None, None]
    fleet_api.clear_fault()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await held
    assert car.locked
    assert not car.executions
    assert (await get(session, fleet_api, "/status"))[0] == 200
    assert fleet_api.billing.billable == 0


async def test_stop_lets_go_of_held_requests(
    session: aiohttp.ClientSession, car: VirtualCar
) -> None:
    sim = FleetApiSimulator(car, clock=car.clock)
    await sim.start()
    sim.set_fault(FaultKind.SLOW, slow_s=600)
    slow = asyncio.ensure_future(get(session, sim, "/status"))
    await settle(lambda: len(sim.requests) == 1)
    sim.set_fault(FaultKind.BLACK_HOLE)
    held = asyncio.ensure_future(get(session, sim, "/status"))
    await settle(lambda: len(sim.requests) == 2)
    await asyncio.wait_for(sim.stop(), timeout=5)
    for request in (slow, held):
        with pytest.raises(aiohttp.ClientError):
            await asyncio.wait_for(request, timeout=5)


@pytest.mark.usefixtures("plain_rest")
async def test_data_only_outage(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.DATA_ONLY)
    vehicle = fleet(session, fleet_api)
    api = TeslaFleetApi(
        session=session, access_token=fleet_api.access_token, server=fleet_api.base_url
    )
    for call in (vehicle.vehicle_data, vehicle.vehicle, vehicle.list, api.products):
        with pytest.raises(ServiceUnavailable):
            await call()
    assert await api.status() == "ok"
    assert (await vehicle.door_unlock())["response"]["result"] is True
    assert (await vehicle.wake_up())["response"]["state"] == "online"
    assert not car.locked
    assert fleet_api.billing == Billing(commands=1, wakes=1, free=5)


async def test_commands_only_outage(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.COMMANDS_ONLY)
    vehicle = fleet(session, fleet_api)
    with pytest.raises(ServiceUnavailable):
        await vehicle.door_unlock()
    with pytest.raises(ServiceUnavailable):
        await vehicle.wake_up()
    assert car.locked
    assert not car.executions
    data = (await vehicle.vehicle_data())["response"]
    assert data["vehicle_state"]["locked"] is True
    assert (await vehicle.vehicle())["response"]["state"] == "online"
    assert (await get(session, fleet_api, "/status"))[1] == "ok"


@pytest.mark.usefixtures("plain_rest")
async def test_stale_data_freezes_values_and_timestamps(
    session: aiohttp.ClientSession,
    vehicle: VehicleFleet,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    clock: FakeClock,
) -> None:
    before = (await vehicle.vehicle_data(ALL_ENDPOINTS.split(";")))["response"]
    fleet_api.set_fault(FaultKind.STALE_DATA)
    clock.advance(120)
    assert (await vehicle.door_unlock())["response"]["result"] is True
    car.battery_level = 50
    stale = (await vehicle.vehicle_data(ALL_ENDPOINTS.split(";")))["response"]
    assert stale == before
    assert (await vehicle.vehicle_data(["charge_state"]))["response"]["charge_state"] == before[
        "charge_state"
    ]
    assert (await get(session, fleet_api, "/status"))[1] == "ok"
    fleet_api.clear_fault()
    fresh = (await vehicle.vehicle_data(["vehicle_state", "charge_state"]))["response"]
    assert fresh["vehicle_state"]["locked"] is False
    assert fresh["charge_state"]["battery_level"] == 50
    assert fresh["charge_state"]["timestamp"] == before["charge_state"]["timestamp"] + 120_000


async def test_slow_delays_every_answer(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    fleet_api.set_fault(FaultKind.SLOW, slow_s=30)
    with pytest.raises(TimeoutError):
        await get(session, fleet_api, "/status", timeout=SHORT)
    with pytest.raises(TimeoutError):
        await get(session, fleet_api, "/api/1/products", timeout=SHORT)
    fleet_api.set_fault(FaultKind.SLOW, slow_s=0.01)
    assert (await get(session, fleet_api, "/api/1/products"))[0] == 200


async def test_latency_delays_answers(session: aiohttp.ClientSession, car: VirtualCar) -> None:
    sim = FleetApiSimulator(car, clock=car.clock, latency_s=30)
    await sim.start()
    try:
        with pytest.raises(TimeoutError):
            await get(session, sim, "/status", timeout=SHORT)
    finally:
        await asyncio.wait_for(sim.stop(), timeout=5)
    assert sim.requests[0].status is None


async def test_rate_limited_on_authenticated_endpoints(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.RATE_LIMITED, retry_after_s=45)
    vehicle = fleet(session, fleet_api)
    with pytest.raises(RateLimited) as err:
        await vehicle.vehicle_data()
    assert err.value.data == {"reset": "45", "after": "45"}
    with pytest.raises(RateLimited):
        await vehicle.door_unlock()
    assert car.locked
    assert (await get(session, fleet_api, "/status"))[0] == 200
    status, _ = await post(
        session,
        fleet_api,
        "/oauth2/v3/token",
        headers={},
        data={
            "grant_type": "refresh_token",
            "client_id": fleet_api.client_id,
            "refresh_token": fleet_api.refresh_token,
        },
    )
    assert status == 200
    fleet_api.set_fault(FaultKind.RATE_LIMITED)
    async with session.get(
        f"{fleet_api.base_url}/api/1/products", headers=bearer(fleet_api.access_token)
    ) as resp:
        assert (resp.status, resp.headers["Retry-After"]) == (429, "30")
    assert fleet_api.billing == Billing(data=2, commands=1, free=2)


async def test_token_expired_until_refreshed(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    old = fleet_api.access_token
    fleet_api.set_fault(FaultKind.TOKEN_EXPIRED)
    with pytest.raises(OAuthExpired):
        await fleet(session, fleet_api, old).vehicle_data()
    status, tokens = await post(
        session,
        fleet_api,
        "/oauth2/v3/token",
        headers={},
        data={
            "grant_type": "refresh_token",
            "client_id": fleet_api.client_id,
            "refresh_token": fleet_api.refresh_token,
        },
    )
    assert status == 200
    assert (await fleet(session, fleet_api, tokens["access_token"]).vehicle_data())["response"]
    fleet_api.clear_fault()
    with pytest.raises(OAuthExpired):
        await fleet(session, fleet_api, old).vehicle()
    assert fleet_api.access_token == tokens["access_token"]


async def test_access_token_property_always_gives_a_working_token(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, clock: FakeClock
) -> None:
    old = fleet_api.access_token
    clock.advance(fleet_api.token_lifetime_s)
    new = fleet_api.access_token
    assert new != old
    with pytest.raises(OAuthExpired):
        await fleet(session, fleet_api, old).vehicle()
    assert (await fleet(session, fleet_api, new).vehicle())["response"]


@pytest.mark.usefixtures("plain_rest")
async def test_command_timeout_after_execute(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.COMMAND_TIMEOUT_AFTER_EXECUTE)
    with pytest.raises(TimeoutError):
        await post(
            session,
            fleet_api,
            f"/api/1/vehicles/{car.vin}/command/actuate_trunk",
            json={"which_trunk": "rear"},
            timeout=SHORT,
        )
    assert car.trunk_open
    assert car.executions["cloud:actuate_trunk"] == 1
    assert fleet_api.requests[-1].status is None
    assert fleet_api.billing.commands == 1
    data = (await fleet(session, fleet_api).vehicle_data())["response"]
    assert data["vehicle_state"]["rt"] == 1


# -- command line --------------------------------------------------------------------------------


def test_command_line_defaults() -> None:
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8321)
    args = parse_args(["--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port) == ("0.0.0.0", 9000)


async def test_serve_announces_a_working_url_and_token(session: aiohttp.ClientSession) -> None:
    lines: list[str] = []
    stop = asyncio.Event()
    server = asyncio.ensure_future(serve("127.0.0.1", 0, stop=stop, announce=lines.append))
    await settle(lambda: len(lines) >= 2)
    base_url = lines[0].rsplit(" ", 1)[1]
    token = lines[1].rsplit(" ", 1)[1]
    async with session.get(f"{base_url}/api/1/products", headers=bearer(token)) as resp:
        assert resp.status == 200
    stop.set()
    await asyncio.wait_for(server, timeout=5)
    with pytest.raises(aiohttp.ClientConnectorError):
        await session.get(f"{base_url}/status")


async def test_refused_flapping_without_a_pause_ends_in_the_last_state(
    session: aiohttp.ClientSession, fleet_api: FleetApiSimulator
) -> None:
    for _ in range(3):
        fleet_api.set_fault(FaultKind.REFUSED)
        fleet_api.clear_fault()
    fleet_api.set_fault(FaultKind.REFUSED)
    with pytest.raises(aiohttp.ClientConnectorError):
        await get(session, fleet_api, "/status")
    fleet_api.clear_fault()
    fleet_api.set_fault(FaultKind.REFUSED)
    fleet_api.clear_fault()
    assert (await get(session, fleet_api, "/status"))[0] == 200


@pytest.mark.parametrize("persistent", [True, False])
async def test_tokens_survive_a_restart_only_with_a_secret(
    car: VirtualCar, socket_enabled: None, persistent: bool
) -> None:
    secret = b"demo" if persistent else None
    first = FleetApiSimulator(car, clock=car.clock, wall_clock=car.wall_clock, secret=secret)
    await first.start()
    access, refresh = first.access_token, first.refresh_token
    await first.stop()

    second = FleetApiSimulator(car, clock=car.clock, wall_clock=car.wall_clock, secret=secret)
    await second.start()
    try:
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": f"Bearer {access}"}
            async with session.get(f"{second.base_url}/api/1/products", headers=headers) as resp:
                assert resp.status == (200 if persistent else 401)
            form = {
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": second.client_id,
            }
            async with session.post(f"{second.base_url}/oauth2/v3/token", data=form) as resp:
                assert resp.status == (200 if persistent else 401)
            forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
            headers = {"Authorization": f"Bearer {forged}"}
            async with session.get(f"{second.base_url}/api/1/products", headers=headers) as resp:
                assert resp.status == 401
    finally:
        await second.stop()


def test_idle_period_starts_when_what_kept_the_car_awake_ends(
    car: VirtualCar, clock: FakeClock
) -> None:
    car.climate_on = True
    clock.advance(2 * car.idle_sleep_s)
    assert car.state == "online"
    car.touch()
    car.climate_on = False
    clock.advance(car.idle_sleep_s - 1)
    assert car.state == "online"
    clock.advance(1)
    assert car.state == "asleep"
