"""Reassembly of the car's Bluetooth indications, fed through the callback the link subscribes.

Each property drives `Inbox.indication`, the callback `BluetoothLink` hands to Home Assistant's
Bluetooth when it connects, so it covers the integration's own reassembly and the routing of
answers to the domain waiting for them.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import Domain, RoutableMessage

from custom_components.tesla_resilient.protocol import MAX_FRAME_BYTES, Inbox
from tests.fuzz.common import fuzz_settings

DOMAINS = (Domain.DOMAIN_VEHICLE_SECURITY, Domain.DOMAIN_INFOTAINMENT)


class _Car:
    """The link's inbox, started afresh for each connection as the link does."""

    def __init__(self) -> None:
        self.inbox = Inbox(os.urandom(16))

    def reconnect(self) -> None:
        """Open a new connection the way the link does: the inbox starts clean."""
        self.inbox.reset()

    @property
    def address(self) -> bytes:
        """The routing address the car answers to."""
        return self.inbox.routing_address

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame the link holds."""
        return len(self.inbox.frames)

    def feed(self, chunks: list[bytes]) -> None:
        """Deliver indications; the pending frame stays bounded after every one."""
        for chunk in chunks:
            self.inbox.indication(None, bytearray(chunk))
            assert self.pending <= MAX_FRAME_BYTES + 1

    def received(self) -> dict[int, list[bytes]]:
        """Drain what reached each domain's queue, serialized."""
        out: dict[int, list[bytes]] = {}
        for domain in DOMAINS:
            items = out.setdefault(domain, [])
            for message in self.inbox.take(domain):
                assert isinstance(message, RoutableMessage)
                items.append(message.SerializeToString())
        return out


@pytest.fixture(scope="module")
def car() -> _Car:
    """One inbox for every example; each example starts on a fresh connection."""
    return _Car()


def frame(message: bytes) -> bytes:
    """Frame a message as the car does: two bytes of big-endian length first."""
    return len(message).to_bytes(2, "big") + message


def split(data: bytes, cuts: set[int]) -> list[bytes]:
    """Cut `data` at the given offsets."""
    edges = [0, *sorted(cut for cut in cuts if 0 < cut < len(data)), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(edges)]


@st.composite
def replies(draw: st.DrawFn, address: bytes) -> tuple[int, bytes]:
    """A reply addressed to the link: (domain, serialized message); now and then from a domain
    nobody waits on (broadcast, unknown numbers), which must be dropped quietly.
    """
    domain = draw(
        st.one_of(
            st.sampled_from(DOMAINS),
            st.sampled_from(DOMAINS),
            st.integers(-(2**31), 2**31 - 1),
        )
    )
    message = RoutableMessage()
    message.to_destination.routing_address = address
    message.from_destination.domain = domain
    message.request_uuid = draw(st.binary(min_size=16, max_size=16))
    message.protobuf_message_as_bytes = draw(st.binary(max_size=400))
    return domain, message.SerializeToString()


def expected(sent: list[tuple[int, bytes]]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {domain: [] for domain in DOMAINS}
    for domain, message in sent:
        if domain in out:
            out[domain].append(message)
    return out


# Protects: valid frames cut anywhere (inside the length prefix too, several frames in one
# indication, empty indications) come out whole and in order, and nothing stays pending.
@fuzz_settings(200)
@given(data=st.data())
def test_valid_frames_split_any_way_come_out_whole_and_in_order(car: _Car, data: Any) -> None:
    car.reconnect()
    sent = data.draw(st.lists(replies(car.address), max_size=6))
    empty_frames = data.draw(st.lists(st.integers(0, len(sent)), max_size=2))
    stream = b""
    for index, (_domain, message) in enumerate(sent):
        # A zero-length frame decodes to an empty message, which nobody is addressed by.
        stream += frame(b"") * empty_frames.count(index)
        stream += frame(message)
    cuts = data.draw(st.sets(st.integers(0, max(0, len(stream))), max_size=40))
    chunks = split(stream, cuts)
    for position in data.draw(st.lists(st.integers(0, len(chunks)), max_size=2)):
        chunks.insert(position, b"")

    car.feed(chunks)

    assert car.received() == expected(sent)
    assert car.pending == 0


@st.composite
def garbage_chunks(draw: st.DrawFn) -> list[bytes]:
    """Indications no car sends: random bytes, huge or zero lengths, prefixes split in two."""
    chunk = st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=40).map(lambda tail: b"\xff\xff" + tail),
        st.integers(MAX_FRAME_BYTES + 1, 0xFFFF).map(lambda n: n.to_bytes(2, "big")),
        st.integers(0, 0xFFFF).map(lambda n: n.to_bytes(2, "big")[:1]),
        st.integers(0, 0xFFFF).map(lambda n: n.to_bytes(2, "big")[1:]),
        st.just(b"\x00\x00"),
        st.integers(0, MAX_FRAME_BYTES).map(lambda n: n.to_bytes(2, "big") + b"\x07"),
    )
    return draw(st.lists(chunk, max_size=30))


# Protects: garbage of any shape never raises out of the notify callback, the partial frame held
# stays bounded (a huge length is dropped, not waited for), and a new connection starts clean so
# the next answer comes out whole.
@fuzz_settings(200)
@given(garbage=garbage_chunks(), data=st.data())
def test_garbage_never_raises_stays_bounded_and_a_new_connection_starts_clean(
    car: _Car, garbage: list[bytes], data: Any
) -> None:
    car.reconnect()
    car.feed(garbage)
    car.received()

    car.reconnect()
    sent = data.draw(st.lists(replies(car.address), min_size=1, max_size=3))
    stream = b"".join(frame(message) for _domain, message in sent)
    car.feed(split(stream, data.draw(st.sets(st.integers(0, len(stream)), max_size=10))))

    assert car.received() == expected(sent)
    assert car.pending == 0


@st.composite
def bad_indications(draw: st.DrawFn) -> bytes:
    """One whole indication that cannot start a frame: too long a length, or an undecodable body."""
    oversized = st.tuples(st.integers(MAX_FRAME_BYTES + 1, 0xFFFF), st.binary(max_size=300)).map(
        lambda pair: pair[0].to_bytes(2, "big") + pair[1]
    )
    undecodable = st.binary(max_size=200).map(lambda tail: frame(b"\x07" + tail))
    return draw(st.one_of(oversized, undecodable))


# Protects: a frame that is bad as a whole is dropped together with its indication, and the
# answers in the indications that follow still come out whole and in order.
@fuzz_settings(150)
@given(data=st.data())
def test_a_bad_indication_is_dropped_and_the_next_frames_still_arrive(car: _Car, data: Any) -> None:
    car.reconnect()
    sent: list[tuple[int, bytes]] = []
    chunks: list[bytes] = []
    for _ in range(data.draw(st.integers(1, 6))):
        if data.draw(st.booleans()):
            chunks.append(data.draw(bad_indications()))
            continue
        reply = data.draw(replies(car.address))
        sent.append(reply)
        whole = frame(reply[1])
        chunks += split(whole, data.draw(st.sets(st.integers(0, len(whole)), max_size=6)))

    car.feed(chunks)

    assert car.received() == expected(sent)
    assert car.pending == 0
