"""The Bluetooth link's errors: each says how far the operation got and which text tells it."""

from __future__ import annotations

from typing import Final

from .router import Delivery


class BluetoothError(Exception):
    """A Bluetooth operation that did not succeed; `delivery` says how far it got.

    `translation_key` names the integration's exception text for it (placeholder: reason).
    """

    message = "Bluetooth operation failed"
    translation_key = "bluetooth_error"

    def __init__(self, delivery: Delivery = Delivery.NOT_SENT, reason: str | None = None) -> None:
        """Keep how far the operation got and the car's reason, if it gave one."""
        super().__init__(self.message if reason is None else f"{self.message}: {reason}")
        self.delivery = delivery
        self.reason = reason


class CarOutOfRange(BluetoothError):
    """No Bluetooth adapter or proxy can reach the car."""

    message = "The car is out of Bluetooth range"
    translation_key = "bluetooth_out_of_range"


class NoConnectionSlot(BluetoothError):
    """Every proxy or adapter that hears the car is out of connection slots."""

    message = "No Bluetooth connection slot is free"
    translation_key = "bluetooth_no_connection_slot"


class ConnectFailed(BluetoothError):
    """The car is heard but the connection could not be opened."""

    message = "Could not connect to the car"
    translation_key = "bluetooth_cannot_connect"


class LinkLost(BluetoothError):
    """The connection dropped or timed out before the car answered."""

    message = "The Bluetooth connection was lost"
    translation_key = "bluetooth_link_lost"


class ResponseTimeout(LinkLost):
    """The car did not answer in time."""

    message = "The car did not answer over Bluetooth"
    translation_key = "bluetooth_timeout"


class CarBusy(BluetoothError):
    """The car answered that it is busy and ran nothing; the command may go another way."""

    message = "The car is busy"
    translation_key = "bluetooth_busy"


class CarAsleep(BluetoothError):
    """Infotainment sleeps: it answers nothing until woken."""

    message = "The car is asleep"
    translation_key = "bluetooth_car_asleep"


class CommandRejected(BluetoothError):
    """The car answered and refused."""

    message = "The car refused the command"
    translation_key = "bluetooth_command_rejected"


class UnsupportedCommand(BluetoothError):
    """A command the Bluetooth link cannot carry."""

    message = "This command is not available over Bluetooth"
    translation_key = "bluetooth_unsupported_command"


class UntrustedResponse(BluetoothError):
    """An answer whose authentication failed (wrong session-info tag or response tag)."""

    message = "The car's answer failed authentication"
    translation_key = "bluetooth_untrusted_response"


class KeyNotPaired(BluetoothError):
    """The car does not (or no longer) know our key; it ran nothing we sent."""

    message = "The car does not know this Bluetooth key"
    translation_key = "bluetooth_key_not_paired"


class CarKeyMismatch(BluetoothError):
    """A car answered with a public key other than the one pinned at pairing."""

    message = "The car answered with an unexpected public key"
    translation_key = "bluetooth_car_key_mismatch"


class PairingRefused(BluetoothError):
    """The car refused to add our key."""

    message = "The car refused the new key"
    translation_key = "pairing_refused"


class PairingTimedOut(BluetoothError):
    """No key card was tapped in time."""

    message = "No key card was tapped in time"
    translation_key = "pairing_timeout"


UNREACHABLE: Final = (CarOutOfRange, NoConnectionSlot, ConnectFailed)
"""Failures that mean the car could not be reached at all (as opposed to a refusal)."""
