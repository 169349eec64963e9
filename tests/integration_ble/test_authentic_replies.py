"""Only authentic answers count: a plaintext or forged answer is neither believed nor final."""

from __future__ import annotations

import pytest
from tesla_fleet_api.tesla.vehicle.proto import car_server_pb2 as cs
from tesla_fleet_api.tesla.vehicle.proto import vcsec_pb2 as vcsec
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import RoutableMessage

from custom_components.tesla_resilient.ble import RESPONSE_TIMEOUT_S, BluetoothLink
from custom_components.tesla_resilient.errors import UntrustedResponse
from custom_components.tesla_resilient.router import Delivery
from custom_components.tesla_resilient.state import Field
from simulator.ble_car import BleCar
from simulator.vehicle import VirtualCar

from .conftest import SimulatedTime


def _plaintext_like(reply: RoutableMessage, payload: bytes) -> RoutableMessage:
    """The reply's envelope with `payload` in the clear and no authentication."""
    forged = RoutableMessage()
    forged.CopyFrom(reply)
    forged.ClearField("signature_data")
    forged.protobuf_message_as_bytes = payload
    return forged


def _unlocked_status() -> bytes:
    message = vcsec.FromVCSECMessage()
    message.vehicleStatus.vehicleLockState = vcsec.VehicleLockState_E.VEHICLELOCKSTATE_UNLOCKED
    return bytes(message.SerializeToString())


def _bad_tag(reply: RoutableMessage) -> RoutableMessage:
    forged = RoutableMessage()
    forged.CopyFrom(reply)
    forged.signature_data.AES_GCM_Response_data.tag = bytes(16)
    return forged


def _encrypted(reply: RoutableMessage) -> bool:
    return reply.signature_data.HasField("AES_GCM_Response_data")


async def test_a_plaintext_answer_to_an_encrypted_request_is_not_believed(
    link: BluetoothLink, ble_car: BleCar, car: VirtualCar, sim_time: SimulatedTime
) -> None:
    await sim_time.wait_for(link.async_status())
    ble_car.forge_replies = lambda reply: (
        [_plaintext_like(reply, _unlocked_status())] if _encrypted(reply) else [reply]
    )

    with pytest.raises(UntrustedResponse) as err:
        await sim_time.timed(link.async_status())

    assert err.value.delivery is Delivery.MAYBE_DELIVERED
    assert car.locked
    assert sim_time.elapsed >= RESPONSE_TIMEOUT_S


async def test_forged_answers_before_the_genuine_one_do_not_end_the_wait(
    link: BluetoothLink, ble_car: BleCar, car: VirtualCar, sim_time: SimulatedTime
) -> None:
    refusal = cs.Response()
    refusal.actionStatus.result = cs.OperationStatus_E.OPERATIONSTATUS_ERROR
    refusal.actionStatus.result_reason.plain_text = "forged refusal"
    ble_car.forge_replies = lambda reply: (
        [
            _plaintext_like(reply, _unlocked_status()),
            _plaintext_like(reply, bytes(refusal.SerializeToString())),
            _bad_tag(reply),
            reply,
        ]
        if _encrypted(reply)
        else [reply]
    )

    status, took = await sim_time.timed(link.async_status())
    await sim_time.wait_for(link.async_command("honk_horn"))

    assert status[Field.LOCKED] is True
    assert took < RESPONSE_TIMEOUT_S
    assert car.executions["ble:honk_horn"] == 1
