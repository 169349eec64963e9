"""The Bluetooth framing as a test central sees it: a 2-byte length, then the message."""

from __future__ import annotations

from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import RoutableMessage


def frame(message: bytes) -> bytes:
    """Prefix a message with its length, with no limit: tests send oversized frames too."""
    return len(message).to_bytes(2, "big") + message


def parse_frames(chunks: list[bytes]) -> list[RoutableMessage]:
    """Every message in the indications a central received; none may be cut short."""
    data = b"".join(chunks)
    messages = []
    while data:
        length = int.from_bytes(data[:2], "big")
        assert len(data) >= length + 2, "a reply frame was cut short"
        messages.append(RoutableMessage.FromString(data[2 : 2 + length]))
        data = data[2 + length :]
    return messages
