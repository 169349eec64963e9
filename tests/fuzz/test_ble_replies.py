"""Decoding of the car's Bluetooth answers: whatever comes back, the link's public methods return
a value or raise one of the integration's BluetoothError subclasses.

The car is the simulator's, reached through a virtual proxy in Home Assistant's Bluetooth stack;
hypothesis decides, answer by answer, whether each goes through untouched, is preceded by garbage,
a mutated copy or an earlier answer, or is replaced by a mutated copy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.descriptor import FieldDescriptor
from homeassistant.core import HomeAssistant
from hypothesis import given
from hypothesis import strategies as st
from tesla_fleet_api.tesla.vehicle.proto import car_server_pb2, signatures_pb2, vcsec_pb2
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import RoutableMessage

from custom_components.tesla_resilient import ble, ble_conversation
from custom_components.tesla_resilient.ble import BluetoothLink
from custom_components.tesla_resilient.ble_messages import Category
from custom_components.tesla_resilient.errors import BluetoothError
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar
from tests.fuzz.common import fuzz_settings

ANSWER_WAIT_S = 0.05
"""How long the link waits for an answer here; a swallowed answer costs no more."""

OPERATION_LIMIT_S = 20.0
"""Any operation that takes longer hangs."""

Draw = Callable[[st.SearchStrategy[Any]], Any]

_INT_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        return st.one_of(st.integers(-2, 40), st.integers(low, high)).filter(
            lambda n: low <= n <= high
        )
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        if field.enum_type.is_closed:
            return st.sampled_from(known)
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(width=32)
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats()
    if kind == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=20)
    return st.binary(max_size=40)


def fill(draw: Draw, message: Any, depth: int = 3) -> None:
    """Set a few of a protobuf message's fields, chosen and valued by hypothesis, recursively."""
    fields = list(message.DESCRIPTOR.fields)
    chosen = draw(st.lists(st.sampled_from(fields), max_size=3, unique_by=lambda f: f.name))
    for field in chosen:
        repeated = field.label == FieldDescriptor.LABEL_REPEATED
        if field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            if depth <= 0 or field.message_type.GetOptions().map_entry:
                continue
            target = getattr(message, field.name)
            sub = target.add() if repeated else target
            sub.SetInParent()
            fill(draw, sub, depth - 1)
        elif repeated:
            getattr(message, field.name).extend(draw(st.lists(_scalar(field), max_size=3)))
        else:
            setattr(message, field.name, draw(_scalar(field)))


ENUM_VALUES = st.one_of(st.integers(-1, 40), st.integers(-(2**31), 2**31 - 1))


def plaintext(draw: Draw) -> bytes:
    """An answer body the car might have sent unencrypted: targeted at what the library reads
    (error codes, operation statuses, fault numbers) or filled at random.
    """
    kind = draw(st.sampled_from(["error", "status", "security", "infotainment"]))
    message: Any
    if kind == "error":
        message = vcsec_pb2.FromVCSECMessage()
        message.nominalError.genericError = draw(ENUM_VALUES)
    elif kind == "status":
        message = vcsec_pb2.FromVCSECMessage()
        status = message.commandStatus
        status.operationStatus = draw(ENUM_VALUES)
        status.signedMessageStatus.signedMessageInformation = draw(ENUM_VALUES)
    elif kind == "security":
        message = vcsec_pb2.FromVCSECMessage()
        fill(draw, message, depth=4)
    else:
        message = car_server_pb2.Response()
        fill(draw, message, depth=4)
    return bytes(message.SerializeToString())


def mutated(draw: Draw, raw: bytes) -> bytes:
    """A damaged copy of one answer."""
    kind = draw(
        st.sampled_from(
            ["bytes", "flip", "truncate", "fields", "plaintext", "session", "nonce", "domain"]
        )
    )
    if kind == "bytes":
        return bytes(draw(st.binary(max_size=300)))
    if kind == "truncate":
        return raw[: draw(st.integers(0, 1000)) % max(1, len(raw))]
    if kind == "flip":
        data = bytearray(raw)
        for position in draw(st.lists(st.integers(0, 1000), max_size=4)):
            if data:
                data[position % len(data)] ^= draw(st.integers(1, 255))
        return bytes(data)
    message = RoutableMessage()
    message.ParseFromString(raw)
    if kind == "fields":
        fill(draw, message)
    elif kind == "plaintext":
        message.ClearField("signature_data")
        message.protobuf_message_as_bytes = plaintext(draw)
    elif kind == "nonce":
        message.signature_data.AES_GCM_Response_data.nonce = draw(st.binary(max_size=20))
    elif kind == "domain":
        message.from_destination.domain = draw(ENUM_VALUES)
    else:
        info = signatures_pb2.SessionInfo()
        if message.session_info:
            info.ParseFromString(message.session_info)
        fill(draw, info)
        message.session_info = info.SerializeToString()
        if draw(st.booleans()):
            message.signature_data.session_info_tag.tag = draw(st.binary(max_size=40))
    return bytes(message.SerializeToString())


class Tamperer:
    """Stands between the car and the air: rewrites the car's answers as hypothesis says."""

    def __init__(self) -> None:
        self.draw: Draw | None = None
        self.sent: list[bytes] = []

    def start(self, draw: Draw) -> None:
        self.draw = draw
        self.sent = []

    def stop(self) -> None:
        self.draw = None

    def answers(self, raw: bytes) -> list[bytes]:
        """What goes on air instead of one answer."""
        draw = self.draw
        if draw is None:
            return [raw]
        action = draw(
            st.sampled_from(["keep", "garbage", "mutated", "earlier", "replaced"]),
        )
        earlier = self.sent[:]
        self.sent.append(raw)
        if action == "garbage":
            return [bytes(draw(st.binary(max_size=100))), raw]
        if action == "mutated":
            return [mutated(draw, raw), raw]
        if action == "earlier" and earlier:
            return [earlier[draw(st.integers(0, 100)) % len(earlier)], raw]
        if action == "replaced":
            return [mutated(draw, raw)]
        return [raw]


@pytest.fixture
def tamperer(monkeypatch: pytest.MonkeyPatch) -> Tamperer:
    """A Tamperer for the answers of each link's car (see `new_link`); short waits."""
    tamperer = Tamperer()
    monkeypatch.setattr(ble_conversation, "WAKE_POLL_S", 0.01)
    monkeypatch.setattr(ble_conversation, "WAKE_TIMEOUT", 0.1)
    # The link pauses before retrying a command the car asked to wait with, and lets an
    # unauthenticated refusal wait a moment for an authentic answer.
    monkeypatch.setattr(ble_conversation, "BUSY_RETRY_S", 0.0)
    monkeypatch.setattr(ble, "REFUSAL_GRACE_S", ANSWER_WAIT_S / 5)
    return tamperer


CLIENT_KEY_PEM = generate_private_key()
CAR_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def new_link(
    hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy, tamperer: Tamperer
) -> AsyncGenerator[Callable[[], BluetoothLink]]:
    """Make a link to a car that knows its key; every one is closed at the end.

    Each link meets a car just booted with the same keys and a seeded random source, so an
    example replays byte for byte (hypothesis seeds the random numbers).
    """
    links: list[BluetoothLink] = []

    def make() -> BluetoothLink:
        clock = FakeClock()
        ble_car = BleCar(
            VirtualCar(clock=clock, wall_clock=clock.wall),
            private_key=CAR_KEY,
            rng=random.Random(0).randbytes,
        )
        ble_car.add_known_key(public_key_bytes(CLIENT_KEY_PEM))
        ble_car.garble_replies = tamperer.answers
        ble_proxy.ble_car = ble_car
        link = BluetoothLink(
            hass,
            ble_car.car.vin,
            CLIENT_KEY_PEM,
            ble_car.public_key,
            response_timeout_s=ANSWER_WAIT_S,
        )
        links.append(link)
        return link

    yield make
    for link in links:
        await link.async_close()


Operation = Callable[[BluetoothLink], Any]

OPERATIONS: list[tuple[str, Operation]] = [
    ("status", lambda link: link.async_status()),
    *((f"read {category}", lambda link, c=category: link.async_read(c)) for category in Category),
    ("door_unlock", lambda link: link.async_command("door_unlock")),
    ("charge_start", lambda link: link.async_command("charge_start")),
    ("set_charge_limit", lambda link: link.async_command("set_charge_limit", percent=70)),
    ("wake_up", lambda link: link.async_command("wake_up")),
]


async def _run(link: BluetoothLink, operation: Operation) -> Any:
    async with asyncio.timeout(OPERATION_LIMIT_S):
        return await operation(link)


# Protects: a missing, garbled, replayed or forged answer (bad nonce, unknown domain, enum values
# the library cannot name, faults out of range) ends an operation with a BluetoothError, never
# with ValueError, IndexError, KeyError or struct.error from the decoding underneath.
@fuzz_settings(120)
@given(data=st.data(), operations=st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=3))
async def test_any_answer_gives_a_value_or_a_bluetooth_error(
    new_link: Callable[[], BluetoothLink],
    tamperer: Tamperer,
    data: Any,
    operations: list[tuple[str, Operation]],
) -> None:
    link = new_link()
    try:
        tamperer.start(data.draw)
        for _name, operation in operations:
            try:
                result = await _run(link, operation)
            except BluetoothError:
                continue
            assert result is None or isinstance(result, dict)
    finally:
        tamperer.stop()
        await link.async_close()


# Protects: after any answer went wrong, the same link still works once the car answers
# properly again (no stale partial frame, no poisoned session).
@fuzz_settings(40)
@given(data=st.data(), operation=st.sampled_from(OPERATIONS))
async def test_the_link_recovers_once_answers_are_sound_again(
    new_link: Callable[[], BluetoothLink],
    tamperer: Tamperer,
    data: Any,
    operation: tuple[str, Operation],
) -> None:
    link = new_link()
    try:
        tamperer.start(data.draw)
        try:
            await _run(link, operation[1])
        except BluetoothError:
            pass
        finally:
            tamperer.stop()
        status = await _run(link, lambda link: link.async_status())
        assert status[ble.Field.LOCKED] in (True, False)
    finally:
        await link.async_close()
