"""A failed command told to the user: its translated message, and the repair or sign-in it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from . import repairs
from .cloud_errors import (
    AccountBlocked,
    CloudAuthError,
    CloudRateLimited,
    CloudServerError,
    CloudTransportError,
    CommandRejected,
    MissingScopes,
    PaymentRequired,
    VehicleAsleep,
    VehicleUnavailable,
    VehicleUnreached,
)
from .cloud_signing import CarBusyCloud, SigningKeyUnknown
from .const import DOMAIN, SCOPE_COMMANDS
from .errors import BluetoothError
from .providers import provider_of
from .router import CommandResult

if TYPE_CHECKING:
    from .coordinator import CloudVehicleCoordinator

_PLAIN_KEYS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (VehicleUnreached, "vehicle_unreached"),
    (VehicleAsleep, "vehicle_asleep"),
    (AccountBlocked, "account_blocked"),
    (VehicleUnavailable, "vehicle_unavailable"),
    (CarBusyCloud, "vehicle_busy"),
    (CloudTransportError, "cloud_unreachable"),
    (CloudServerError, "cloud_server_error"),
)
"""Cloud failures whose message needs nothing but the command's name."""


def bluetooth_error(err: BluetoothError) -> HomeAssistantError:
    """Return the message of a command that failed over Bluetooth, by the error's own key."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders={"reason": err.reason or ""},
    )


def command_error(
    result: CommandResult,
    hass: HomeAssistant,
    entry: ConfigEntry,
    name: str,
    cloud: CloudVehicleCoordinator | None,
) -> HomeAssistantError:
    """Say why the command of car `name` failed; raise the repair or sign-in that fixes it.

    Missing scopes and an unpaid provider raise their repair issues (`cloud`, the car's cloud
    poller, raises the latter); only a refused token starts signing in again.
    """
    err = result.error
    placeholders: dict[str, str] = {"command": result.command}
    plain = next((key for kind, key in _PLAIN_KEYS if isinstance(err, kind)), None)
    if result.unconfirmed:
        key = "command_unconfirmed"
    elif isinstance(err, BluetoothError):
        return bluetooth_error(err)
    elif plain is not None:
        key = plain
    elif isinstance(err, CommandRejected):
        key = "command_rejected"
        placeholders["reason"] = err.reason or "unknown"
    elif isinstance(err, SigningKeyUnknown):
        key = "signing_key_missing"
        placeholders["name"] = name
    elif isinstance(err, MissingScopes):
        key = "missing_scopes"
        repairs.async_scopes_issue(hass, entry.entry_id, entry.title, SCOPE_COMMANDS, missing=True)
    elif isinstance(err, PaymentRequired):
        if cloud is not None:
            cloud.payment_issue(err.reason)
        key = "payment_required"
        placeholders["provider"] = provider_of(entry.data).label
    elif isinstance(err, CloudAuthError):
        entry.async_start_reauth(hass)
        key = "auth_failed"
    elif isinstance(err, CloudRateLimited):
        key = "command_rate_limited"
        placeholders["seconds"] = "?" if err.retry_after is None else f"{err.retry_after:.0f}"
    else:
        key = "command_failed"
        placeholders["error"] = str(err)
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )
