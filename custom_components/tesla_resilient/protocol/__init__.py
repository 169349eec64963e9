"""Tesla's vehicle-command protocol, built on its protobuf messages and `cryptography`."""

from .crypto import InvalidPublicKey, session_info_tag
from .messages import (
    DOMAINS,
    INFOTAINMENT,
    MAX_FRAME_BYTES,
    VCSEC,
    FrameBuffer,
    Reply,
    add_key_request,
    add_key_routable,
    fault_name,
    frame,
    read_reply,
    unsigned_vcsec,
)
from .session import (
    CarKeyChanged,
    KeyNotOnCar,
    Keyring,
    ProtocolError,
    Request,
    RoutableMessage,
    Session,
    Signature,
    UntrustedReply,
)

__all__ = [
    "DOMAINS",
    "INFOTAINMENT",
    "MAX_FRAME_BYTES",
    "VCSEC",
    "CarKeyChanged",
    "FrameBuffer",
    "InvalidPublicKey",
    "KeyNotOnCar",
    "Keyring",
    "ProtocolError",
    "Reply",
    "Request",
    "RoutableMessage",
    "Session",
    "Signature",
    "UntrustedReply",
    "add_key_request",
    "add_key_routable",
    "fault_name",
    "frame",
    "read_reply",
    "session_info_tag",
    "unsigned_vcsec",
]
