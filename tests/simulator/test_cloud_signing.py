"""Signed commands through the simulated Fleet API, over loopback HTTP.

The integration's own signer (`custom_components.tesla_resilient.protocol`) talks to the car's
verifier (`simulator.ble_car.BleCar`) through `signed_command`: both ends must agree.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from custom_components.tesla_resilient.protocol import (
    INFOTAINMENT,
    VCSEC,
    FrameBuffer,
    Keyring,
    Reply,
    Request,
    RoutableMessage,
    Session,
    Signature,
    frame,
    read_reply,
    unsigned_vcsec,
)
from custom_components.tesla_resilient.protocol.proto import car_server, keys, universal, vcsec
from custom_components.tesla_resilient.protocol.session import CLOUD_TTL_S
from simulator.billing import Billing
from simulator.ble_car import BleCar
from simulator.clock import FakeClock
from simulator.fleet_api import ALTERNATE_PREFIX, FaultKind, FleetApiSimulator
from simulator.fleet_faults import VCP_REQUIRED
from simulator.vehicle import (
    CommandSigning,
    VirtualCar,
    command_signing_for,
    model_for,
    model_year_for,
)

ROUTING = bytes(range(16))
PRE_2021_MODEL_S = "5YJSA1E26HF000001"
Fault = universal.MessageFault_E
VCP_BODY = {"response": None, "error": VCP_REQUIRED, "error_description": ""}


@pytest.fixture
async def http(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    sim: FleetApiSimulator,
    method: str,
    path: str,
    *,
    base: str | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    kwargs.setdefault("headers", {"Authorization": f"Bearer {sim.access_token}"})
    async with http.request(method, f"{base or sim.base_url}{path}", **kwargs) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


class CloudClient:
    """The integration's signer, sending through `signed_command`."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        sim: FleetApiSimulator,
        car: VirtualCar,
        clock: FakeClock,
    ) -> None:
        self.http = http
        self.sim = sim
        self.vin = car.vin
        self.keyring = Keyring(ec.generate_private_key(ec.SECP256R1()), car.vin, None)
        self.sessions: dict[int, Session] = {
            domain: Session(self.keyring, domain, clock=clock) for domain in (VCSEC, INFOTAINMENT)
        }

    @property
    def public_key(self) -> bytes:
        return self.keyring.public_key

    async def post(self, message: RoutableMessage) -> tuple[int, Any]:
        encoded = base64.b64encode(message.SerializeToString()).decode()
        return await call(
            self.http,
            self.sim,
            "POST",
            f"/api/1/vehicles/{self.vin}/signed_command",
            json={"routable_message": encoded},
        )

    async def exchange(self, request: Request) -> RoutableMessage:
        status, body = await self.post(request.message)
        assert status == 200, body
        reply = RoutableMessage()
        reply.ParseFromString(base64.b64decode(body["response"]))
        return reply

    async def handshake(self, domain: int) -> Reply:
        session = self.sessions[domain]
        request = session.handshake(ROUTING)
        return read_reply(session, request, await self.exchange(request))

    def sign(self, domain: int, payload: bytes) -> Request:
        return self.sessions[domain].sign(
            payload, ROUTING, signature=Signature.HMAC, encrypt_reply=True, ttl_s=CLOUD_TTL_S
        )

    async def command(self, domain: int, payload: bytes) -> Reply:
        request = self.sign(domain, payload)
        return read_reply(self.sessions[domain], request, await self.exchange(request))


class BleClient:
    """The same key over a Bluetooth connection to the car's verifier."""

    def __init__(self, ble_car: BleCar, keyring: Keyring, clock: FakeClock) -> None:
        self.messages: list[RoutableMessage] = []
        self.frames = FrameBuffer(self.messages.append)
        self.connection = ble_car.connect(self.frames.receive, mtu=517)
        self.session = Session(keyring, VCSEC, clock=clock)

    def exchange(self, request: Request) -> Reply:
        self.messages.clear()
        self.connection.write(frame(request.message.SerializeToString()))
        assert self.messages, "the car did not answer"
        return read_reply(self.session, request, self.messages[-1])


def unlock() -> bytes:
    return bytes(
        vcsec.UnsignedMessage(RKEAction=vcsec.RKEAction_E.RKE_ACTION_UNLOCK).SerializeToString()
    )


def climate_on() -> bytes:
    action = car_server.Action()
    action.vehicleAction.hvacAutoAction.power_on = True
    return bytes(action.SerializeToString())


@pytest.fixture
def client(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar, clock: FakeClock
) -> CloudClient:
    return CloudClient(http, fleet_api, car, clock)


@pytest.fixture
def enrolled(client: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar) -> CloudClient:
    """The client's key is the application's, added through Tesla's virtual-key link."""
    fleet_api.application_public_key = client.public_key
    fleet_api.enroll_application_key(car.vin)
    return client


# -- which cars need signing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vin", "signing", "model", "year"),
    [
        ("5YJ3E7EB0NF000001", CommandSigning.REQUIRED, "3", 2022),
        ("7SAYGDEE5PF000001", CommandSigning.REQUIRED, "Y", 2023),
        ("7G2CEHED0RA000001", CommandSigning.REQUIRED, "C", 2024),
        (PRE_2021_MODEL_S, CommandSigning.OFF, "S", 2017),
        ("5YJXCAE29LF000001", CommandSigning.OFF, "X", 2020),
        ("5YJSA1E41MF000001", CommandSigning.OFF, "S", 2021),
        ("5YJSA1E61MF000001", CommandSigning.REQUIRED, "S", 2021),
        ("5YJSA1E61NF000001", CommandSigning.REQUIRED, "S", 2022),
    ],
)
def test_signing_follows_model_and_year(
    vin: str, signing: CommandSigning, model: str, year: int
) -> None:
    assert command_signing_for(vin) is signing
    assert VirtualCar(vin=vin).command_signing is signing
    assert (model_for(vin), model_year_for(vin)) == (model, year)


def test_signing_can_be_chosen() -> None:
    car = VirtualCar(command_signing=CommandSigning.ALLOWED)
    assert car.command_signing is CommandSigning.ALLOWED


async def test_vehicle_list_reports_each_cars_signing(
    http: aiohttp.ClientSession, clock: FakeClock, socket_enabled: None
) -> None:
    model_3 = VirtualCar(clock=clock, wall_clock=clock.wall)
    model_s = VirtualCar(vin=PRE_2021_MODEL_S, clock=clock, wall_clock=clock.wall)
    sim = FleetApiSimulator([model_3, model_s], clock=clock, wall_clock=clock.wall)
    await sim.start()
    try:
        for path in ("/api/1/vehicles", "/api/1/products"):
            status, body = await call(http, sim, "GET", path)
            assert status == 200
            signing = {item["vin"]: item["command_signing"] for item in body["response"]}
            assert signing == {model_3.vin: "required", PRE_2021_MODEL_S: "off"}
    finally:
        await sim.stop()


# -- plain REST commands -------------------------------------------------------------------------


async def test_plain_command_to_a_model_3_is_refused_with_teslas_body_and_billed(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    path = f"/api/1/vehicles/{car.vin}/command/door_unlock"
    status, body = await call(http, fleet_api, "POST", path)
    assert (status, body) == (403, VCP_BODY)
    assert car.locked
    assert not car.executions
    assert fleet_api.billing == Billing(commands=1)


async def test_plain_command_to_an_asleep_model_3_is_still_the_403(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    car.sleep_now()
    path = f"/api/1/vehicles/{car.vin}/command/door_lock"
    assert await call(http, fleet_api, "POST", path) == (403, VCP_BODY)


async def test_hardlocked_fault_refuses_with_the_200_form(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.UNSIGNED_HARDLOCKED)
    path = f"/api/1/vehicles/{car.vin}/command/door_unlock"
    status, body = await call(http, fleet_api, "POST", path)
    assert (status, body) == (
        200,
        {"response": {"result": False, "reason": "unsigned_cmds_hardlocked"}},
    )
    assert car.locked
    assert fleet_api.billing.commands == 1


async def test_plain_command_runs_on_a_pre_2021_model_s(
    http: aiohttp.ClientSession, clock: FakeClock, socket_enabled: None
) -> None:
    car = VirtualCar(vin=PRE_2021_MODEL_S, clock=clock, wall_clock=clock.wall)
    sim = FleetApiSimulator(car, clock=clock, wall_clock=clock.wall)
    await sim.start()
    try:
        path = f"/api/1/vehicles/{car.vin}/command/door_unlock"
        status, body = await call(http, sim, "POST", path)
        assert (status, body) == (200, {"response": {"result": True, "reason": ""}})
        assert not car.locked
        assert car.executions["cloud:door_unlock"] == 1
        status, body = await call(
            http,
            sim,
            "POST",
            f"/api/1/vehicles/{car.vin}/signed_command",
            json={"routable_message": base64.b64encode(b"").decode()},
        )
        assert status == 403
        assert body["error"] == "unsupported vehicle"
    finally:
        await sim.stop()


# -- signed commands -----------------------------------------------------------------------------


async def test_handshake_through_signed_command_is_billed_as_a_command(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    for domain in (VCSEC, INFOTAINMENT):
        answer = await enrolled.handshake(domain)
        assert answer.authentic
        assert enrolled.sessions[domain].ready
    ble_car = fleet_api.ble_car(car.vin)
    assert enrolled.keyring.pinned == ble_car.public_key
    assert (ble_car.cloud_handshakes, ble_car.handshakes) == (2, 0)
    assert fleet_api.billing.commands == 2
    assert fleet_api.billing.by_kind["command"] == 2


async def test_infotainment_offline_while_security_answers(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    """vehicle-command#450: the online car's infotainment is "offline" through the cloud only."""
    fleet_api.set_fault(FaultKind.INFOTAINMENT_OFFLINE)
    infotainment = enrolled.sessions[INFOTAINMENT].handshake(ROUTING).message
    expected = (408, {"response": None, "error": "vehicle is offline", "error_description": ""})
    assert await enrolled.post(infotainment) == expected
    assert (await enrolled.handshake(VCSEC)).authentic
    assert fleet_api.ble_car(car.vin).cloud_handshakes == 1
    assert not car.asleep


async def test_hmac_signed_unlock_runs_via_the_cloud_and_its_encrypted_reply_opens(
    enrolled: CloudClient, car: VirtualCar
) -> None:
    await enrolled.handshake(VCSEC)
    answer = await enrolled.command(VCSEC, unlock())
    assert answer.authentic
    assert answer.fault == 0
    assert answer.payload is not None
    reply = vcsec.FromVCSECMessage.FromString(answer.payload)
    assert not reply.HasField("nominalError")
    assert not car.locked
    assert car.executions["cloud:door_unlock"] == 1
    assert car.executions["ble:door_unlock"] == 0


async def test_the_reply_is_encrypted_for_the_request(enrolled: CloudClient) -> None:
    await enrolled.handshake(INFOTAINMENT)
    request = enrolled.sign(INFOTAINMENT, climate_on())
    reply = await enrolled.exchange(request)
    assert reply.signature_data.HasField("AES_GCM_Response_data")
    assert reply.protobuf_message_as_bytes != b""
    answer = read_reply(enrolled.sessions[INFOTAINMENT], request, reply)
    response = car_server.Response.FromString(answer.payload or b"")
    assert response.actionStatus.result == car_server.OperationStatus_E.OPERATIONSTATUS_OK


async def test_infotainment_command_runs_via_the_cloud(
    enrolled: CloudClient, car: VirtualCar
) -> None:
    await enrolled.handshake(INFOTAINMENT)
    answer = await enrolled.command(INFOTAINMENT, climate_on())
    assert answer.authentic
    assert car.climate_on
    assert car.executions["cloud:auto_conditioning_start"] == 1


async def test_unknown_key_is_not_on_the_whitelist(client: CloudClient) -> None:
    answer = await client.handshake(VCSEC)
    assert answer.not_on_car
    assert not client.sessions[VCSEC].ready


async def test_command_from_a_key_the_car_dropped_is_unknown_key_id(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    await enrolled.handshake(VCSEC)
    fleet_api.ble_car(car.vin).remove_key(enrolled.public_key)
    answer = await enrolled.command(VCSEC, unlock())
    assert answer.not_on_car
    assert answer.fault == Fault.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID
    assert car.locked


async def test_wrong_epoch_is_a_fault_with_fresh_session_info(
    enrolled: CloudClient, car: VirtualCar
) -> None:
    await enrolled.handshake(VCSEC)
    session = enrolled.sessions[VCSEC]
    right_epoch = session.epoch
    session.epoch = bytes(16)
    answer = await enrolled.command(VCSEC, unlock())
    assert answer.fault == Fault.MESSAGEFAULT_ERROR_INCORRECT_EPOCH
    assert answer.authentic
    assert session.epoch == right_epoch
    assert car.locked
    retry = await enrolled.command(VCSEC, unlock())
    assert (retry.fault, car.locked) == (0, False)


async def test_expired_command_is_a_fault_with_fresh_session_info(
    enrolled: CloudClient, car: VirtualCar, clock: FakeClock
) -> None:
    await enrolled.handshake(INFOTAINMENT)
    request = enrolled.sign(INFOTAINMENT, climate_on())
    clock.advance(CLOUD_TTL_S + 5)
    session = enrolled.sessions[INFOTAINMENT]
    answer = read_reply(session, request, await enrolled.exchange(request))
    assert answer.fault == Fault.MESSAGEFAULT_ERROR_TIME_EXPIRED
    assert answer.authentic
    assert not car.climate_on
    retry = await enrolled.command(INFOTAINMENT, climate_on())
    assert (retry.fault, car.climate_on) == (0, True)


async def test_reboot_ends_cloud_sessions_too(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    await enrolled.handshake(VCSEC)
    fleet_api.ble_car(car.vin).reboot()
    answer = await enrolled.command(VCSEC, unlock())
    assert answer.fault == Fault.MESSAGEFAULT_ERROR_INCORRECT_EPOCH
    assert (await enrolled.command(VCSEC, unlock())).fault == 0


async def test_unsigned_security_messages_are_refused_through_the_cloud(
    enrolled: CloudClient, car: VirtualCar
) -> None:
    message = vcsec.UnsignedMessage()
    message.InformationRequest.informationRequestType = (
        vcsec.InformationRequestType.INFORMATION_REQUEST_TYPE_GET_STATUS
    )
    reply = await enrolled.exchange(unsigned_vcsec(message, ROUTING))
    assert reply.signedMessageStatus.signed_message_fault == Fault.MESSAGEFAULT_ERROR_BAD_PARAMETER


# -- keys ----------------------------------------------------------------------------------------


async def test_fleet_manager_key_signs_the_cloud_but_not_bluetooth(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar, clock: FakeClock
) -> None:
    ble_car = fleet_api.ble_car(car.vin)
    assert ble_car.key_role(enrolled.public_key) == keys.Role.ROLE_FM
    await enrolled.handshake(VCSEC)
    assert (await enrolled.command(VCSEC, unlock())).fault == 0
    assert not car.locked

    ble = BleClient(ble_car, enrolled.keyring, clock)
    assert ble.exchange(ble.session.handshake(ROUTING)).authentic
    lock = vcsec.UnsignedMessage(RKEAction=vcsec.RKEAction_E.RKE_ACTION_LOCK)
    answer = ble.exchange(ble.session.sign(lock.SerializeToString(), ROUTING))
    assert answer.fault == Fault.MESSAGEFAULT_ERROR_INSUFFICIENT_PRIVILEGES
    assert not car.locked
    assert car.executions["ble:door_lock"] == 0


async def test_a_key_paired_over_bluetooth_signs_both_routes(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar, clock: FakeClock
) -> None:
    ble_car = BleCar(car)
    fleet_api.attach_ble_car(ble_car)
    assert fleet_api.ble_car(car.vin) is ble_car
    client = CloudClient(http, fleet_api, car, clock)
    ble_car.add_known_key(client.public_key, keys.Role.ROLE_DRIVER)

    await client.handshake(VCSEC)
    assert (await client.command(VCSEC, unlock())).fault == 0
    ble = BleClient(ble_car, client.keyring, clock)
    ble.exchange(ble.session.handshake(ROUTING))
    lock = vcsec.UnsignedMessage(RKEAction=vcsec.RKEAction_E.RKE_ACTION_LOCK)
    assert ble.exchange(ble.session.sign(lock.SerializeToString(), ROUTING)).fault == 0
    assert car.locked
    assert (car.executions["cloud:door_unlock"], car.executions["ble:door_lock"]) == (1, 1)
    assert (ble_car.cloud_handshakes, ble_car.handshakes) == (1, 1)


async def test_a_car_without_bluetooth_face_gets_one_verifier(
    fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    first = fleet_api.ble_car(car.vin)
    assert fleet_api.ble_car(car.vin) is first
    assert first.car is car
    with pytest.raises(ValueError, match="not on this account"):
        fleet_api.attach_ble_car(BleCar(VirtualCar(vin="5YJ3E7EB0NF000002")))


def test_enrolling_needs_a_key(fleet_api: FleetApiSimulator, car: VirtualCar) -> None:
    with pytest.raises(ValueError, match="no application public key"):
        fleet_api.enroll_application_key(car.vin)


async def test_fleet_status_before_and_after_enrolment(
    http: aiohttp.ClientSession, client: CloudClient, clock: FakeClock, socket_enabled: None
) -> None:
    model_3 = VirtualCar(clock=clock, wall_clock=clock.wall)
    model_s = VirtualCar(vin=PRE_2021_MODEL_S, clock=clock, wall_clock=clock.wall)
    sim = FleetApiSimulator(
        [model_3, model_s],
        clock=clock,
        wall_clock=clock.wall,
        application_public_key=client.public_key,
    )
    await sim.start()
    try:
        vins = [model_3.vin, model_s.vin, "5YJ3E7EB0NF999999"]
        path = "/api/1/vehicles/fleet_status"
        status, body = await call(http, sim, "POST", path, json={"vins": vins})
        assert status == 200
        answer = body["response"]
        assert answer["key_paired_vins"] == []
        assert answer["unpaired_vins"] == vins
        assert answer["vehicle_info"][model_3.vin] == {
            "firmware_version": "2025.14.3",
            "vehicle_command_protocol_required": True,
            "discounted_device_data": False,
            "fleet_telemetry_version": "1.0.0",
            "total_number_of_keys": 0,
        }
        assert not answer["vehicle_info"][model_s.vin]["vehicle_command_protocol_required"]
        assert "5YJ3E7EB0NF999999" not in answer["vehicle_info"]

        sim.ble_car(model_3.vin).add_known_key(BleCar(model_3).public_key)
        sim.enroll_application_key(model_3.vin)
        status, body = await call(http, sim, "POST", path, json={"vins": vins})
        answer = body["response"]
        assert answer["key_paired_vins"] == [model_3.vin]
        assert answer["unpaired_vins"] == [model_s.vin, "5YJ3E7EB0NF999999"]
        assert answer["vehicle_info"][model_3.vin]["total_number_of_keys"] == 2
        assert sim.billing.data == 2
        assert await call(http, sim, "POST", path, json={"vin": vins}) == (
            400,
            {"response": None, "error": "invalid_request", "error_description": ""},
        )
    finally:
        await sim.stop()


# -- the car behind the cloud --------------------------------------------------------------------


async def test_asleep_car_is_408_and_nothing_reaches_it(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    car.sleep_now()
    status, body = await enrolled.post(enrolled.sessions[VCSEC].handshake(ROUTING).message)
    assert status == 408
    assert body["response"] is None
    assert fleet_api.ble_car(car.vin).cloud_handshakes == 0
    assert fleet_api.billing.commands == 1


async def test_a_car_that_does_not_answer_is_503_and_free(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    await enrolled.handshake(INFOTAINMENT)
    fleet_api.ble_car(car.vin).silent_categories.add("charge_state")
    action = car_server.Action()
    action.vehicleAction.getVehicleData.getChargeState.SetInParent()
    status, body = await enrolled.post(
        enrolled.sign(INFOTAINMENT, action.SerializeToString()).message
    )
    assert (status, body["error"]) == (503, "vehicle is not available")
    assert fleet_api.billing.commands == 1
    assert fleet_api.billing.free == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"routable_message": 3}, {"routable_message": "not base64!"}, ["x"]],
)
async def test_signed_command_without_a_message_is_400(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar, body: Any
) -> None:
    path = f"/api/1/vehicles/{car.vin}/signed_command"
    status, answer = await call(http, fleet_api, "POST", path, json=body)
    assert (status, answer["error"]) == (400, "invalid_request")


async def test_vehicle_offline_fault_is_408_on_signed_command(enrolled: CloudClient) -> None:
    enrolled.sim.set_fault(FaultKind.VEHICLE_OFFLINE)
    status, _ = await enrolled.post(enrolled.sessions[VCSEC].handshake(ROUTING).message)
    assert status == 408


async def unlock_with_fault(
    enrolled: CloudClient, fleet_api: FleetApiSimulator, kind: FaultKind, ran: float
) -> tuple[int, Any]:
    """A signed unlock after a handshake, under `kind` (`ran`: the share that reached the car)."""
    await enrolled.handshake(VCSEC)
    fleet_api.set_fault(kind, ran=ran)
    return await enrolled.post(enrolled.sign(VCSEC, unlock()).message)


@pytest.mark.parametrize(("ran", "locked"), [(0.0, True), (1.0, False)])
async def test_car_unreachable_is_503_on_signed_command_only_and_free(
    enrolled: CloudClient,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    ran: float,
    locked: bool,
) -> None:
    status, body = await unlock_with_fault(enrolled, fleet_api, FaultKind.CAR_UNREACHABLE, ran)
    assert status == 503
    assert body == {"response": None, "error": "vehicle is not available", "error_description": ""}
    assert car.locked is locked
    status, _ = await call(
        enrolled.http, fleet_api, "GET", f"/api/1/vehicles/{car.vin}/vehicle_data"
    )
    assert status == 200
    assert fleet_api.billing.commands == 1
    assert fleet_api.billing.data == 1
    assert fleet_api.billing.free == 1


@pytest.mark.parametrize(("ran", "locked"), [(0.0, True), (1.0, False)])
async def test_car_error_is_540_where_the_car_answers_and_free(
    enrolled: CloudClient,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    ran: float,
    locked: bool,
) -> None:
    status, body = await unlock_with_fault(enrolled, fleet_api, FaultKind.CAR_ERROR, ran)
    assert status == 540
    assert body["response"] is None
    assert car.locked is locked
    status, _ = await call(
        enrolled.http, fleet_api, "GET", f"/api/1/vehicles/{car.vin}/vehicle_data"
    )
    assert status == 540
    status, _ = await call(enrolled.http, fleet_api, "GET", f"/api/1/vehicles/{car.vin}")
    assert status == 200
    assert fleet_api.billing.billable == 1
    assert fleet_api.billing.free == 3


# -- account and region faults -------------------------------------------------------------------


async def test_missing_scopes_on_data_calls(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.MISSING_SCOPES)
    status, body = await call(http, fleet_api, "GET", f"/api/1/vehicles/{car.vin}/vehicle_data")
    assert (status, body) == (
        403,
        {"response": None, "error": "Unauthorized missing scopes", "error_description": ""},
    )
    assert (await call(http, fleet_api, "GET", f"/api/1/vehicles/{car.vin}"))[0] == 200
    assert (await call(http, fleet_api, "POST", f"/api/1/vehicles/{car.vin}/wake_up"))[0] == 200
    assert fleet_api.billing.data == 1


async def test_unregistered_region_on_the_vehicle_list_and_user_calls(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.UNREGISTERED_REGION)
    for path in ("/api/1/vehicles", "/api/1/products", "/api/1/users/me", "/api/1/users/region"):
        status, body = await call(http, fleet_api, "GET", path)
        assert status == 412
        assert body == {
            "error": f"Account {fleet_api.client_id} must be registered in the current region "
            f"{fleet_api.base_url}, please see "
            "https://developer.tesla.com/docs/fleet-api/endpoints/partner-endpoints#register"
        }
    status, _ = await call(http, fleet_api, "GET", f"/api/1/vehicles/{car.vin}/vehicle_data")
    assert status == 200
    assert fleet_api.billing.data == 5


async def test_out_of_region_names_the_alternate_base_url_which_answers(
    http: aiohttp.ClientSession, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    fleet_api.set_fault(FaultKind.OUT_OF_REGION)
    alternate = fleet_api.alternate_base_url
    assert alternate == f"{fleet_api.base_url}{ALTERNATE_PREFIX}"
    status, body = await call(http, fleet_api, "GET", "/api/1/vehicles")
    assert status == 421
    assert body == {
        "response": None,
        "error": f"user out of region, use base URL: {alternate}/, see "
        "https://developer.tesla.com/docs/fleet-api#regional-requirements",
        "error_description": "",
    }
    status, body = await call(http, fleet_api, "GET", "/api/1/users/region")
    assert (status, body["response"]) == (200, {"region": "na", "fleet_api_base_url": alternate})
    status, body = await call(http, fleet_api, "GET", "/api/1/vehicles", base=alternate)
    assert (status, body["response"][0]["vin"]) == (200, car.vin)
    path = f"/api/1/vehicles/{car.vin}/command/door_unlock"
    assert await call(http, fleet_api, "POST", path, base=alternate) == (403, VCP_BODY)
    assert fleet_api.billing.data == 3
    assert fleet_api.billing.commands == 1
    fleet_api.clear_fault()
    status, body = await call(http, fleet_api, "GET", "/api/1/users/region")
    assert body["response"] == {"region": "eu", "fleet_api_base_url": fleet_api.base_url}


@pytest.mark.parametrize(
    ("fault", "status", "error"),
    [
        (
            FaultKind.PAYMENT_REQUIRED,
            402,
            "Payment is required in order to use the API (non-free account only).",
        ),
        (FaultKind.ACCOUNT_LOCKED, 423, "Account is locked, and must be unlocked by Tesla."),
        (
            FaultKind.PRIVACY_BLOCKED,
            451,
            "Querying for a user/vehicle without proper privacy settings.",
        ),
    ],
)
async def test_account_faults_on_every_authenticated_call_and_billed(
    enrolled: CloudClient,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    fault: FaultKind,
    status: int,
    error: str,
) -> None:
    fleet_api.set_fault(fault)
    http = enrolled.http
    expected = (status, {"response": None, "error": error, "error_description": ""})
    assert await call(http, fleet_api, "GET", "/api/1/vehicles") == expected
    assert await call(http, fleet_api, "GET", f"/api/1/vehicles/{car.vin}") == expected
    assert await enrolled.post(enrolled.sessions[VCSEC].handshake(ROUTING).message) == expected
    assert (await call(http, fleet_api, "GET", "/status"))[0] == 200
    assert fleet_api.billing.data == 1
    assert fleet_api.billing.commands == 1
    assert fleet_api.billing.free == 2
    assert fleet_api.ble_car(car.vin).cloud_handshakes == 0
