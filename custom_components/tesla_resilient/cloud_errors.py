"""Every cloud outcome classified: the errors a cloud call ends in and the rules that pick one."""

from __future__ import annotations

import math
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final

import aiohttp
from tesla_fleet_api.exceptions import (
    MobileAccessDisabled,
    ResponseError,
    TeslaFleetError,
    UnsupportedVehicle,
)

from .health import Capability, Outcome


class Request(StrEnum):
    """What a cloud call asked for, so outcomes can be told apart by capability."""

    STATUS = "status"
    REGION = "region"
    ACCOUNT = "account"
    PRODUCTS = "products"
    VEHICLE_STATE = "vehicle_state"
    VEHICLE_DATA = "vehicle_data"
    WAKE_UP = "wake_up"
    COMMAND = "command"
    SIGNED_COMMAND = "signed_command"
    FLEET_STATUS = "fleet_status"

    @property
    def capability(self) -> Capability | None:
        """The capability this call is evidence for; None for the unauthenticated probe."""
        return _CAPABILITIES[self]


_CAPABILITIES: Final[dict[Request, Capability | None]] = {
    Request.STATUS: None,
    Request.REGION: Capability.AUTH,
    Request.ACCOUNT: Capability.AUTH,
    Request.PRODUCTS: Capability.DATA,
    Request.VEHICLE_STATE: Capability.DATA,
    Request.VEHICLE_DATA: Capability.DATA,
    Request.WAKE_UP: Capability.COMMANDS,
    Request.COMMAND: Capability.COMMANDS,
    Request.SIGNED_COMMAND: Capability.COMMANDS,
    Request.FLEET_STATUS: Capability.DATA,
}


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    """One classified cloud call: what was asked, how it ended, and when (monotonic seconds).

    `data_timestamp_ms` is the car's own time of the data a successful data call returned.
    """

    request: Request
    outcome: Outcome
    at: float
    vin: str | None = None
    retry_after: float | None = None
    sent: bool = True
    data_timestamp_ms: int | None = None


class CloudError(Exception):
    """A cloud call that did not succeed, classified.

    `sent` is False only when the request surely never reached the server (refused, DNS, TLS,
    connect timeout, token refresh failed first); any answer or a timeout after writing counts
    as maybe sent.
    """

    def __init__(
        self,
        outcome: Outcome,
        *,
        sent: bool,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        """Keep the classification; the message names no secret."""
        super().__init__(f"{outcome}: {detail}" if detail else str(outcome))
        self.outcome = outcome
        self.sent = sent
        self.retry_after = retry_after


class CloudAuthError(CloudError):
    """The token was rejected (401, or a 403 about the token) or could not be refreshed."""


class CloudRateLimited(CloudError):
    """The cloud asks to slow down (429), for `retry_after` seconds when it says so."""


class VehicleAsleep(CloudError):
    """The car is asleep or offline (408); nothing reached it."""


class CloudServerError(CloudError):
    """The cloud answered with a server error (5xx) or with something unreadable."""


class CloudTransportError(CloudError):
    """No answer: refused, DNS, TLS, reset or timed out."""


class UntrustedCertificate(CloudTransportError):
    """The server's TLS certificate did not verify against the authorities trusted for it."""


class CloudBadRequest(CloudError):
    """The cloud or the car turned the request down (4xx)."""


class SigningRequired(CloudBadRequest):
    """The car takes only commands signed with Tesla's Vehicle Command Protocol; it ran nothing.

    Tesla answers a plain REST command to such a car with HTTP 403 "Tesla Vehicle Command
    Protocol required" (alandtse/tesla#858, teslamotors/vehicle-command#252) or, on some
    firmware, HTTP 200 with the reason `unsigned_cmds_hardlocked` (jonasman/TeslaSwift#160).
    """

    def __init__(self, detail: str = "signed commands required") -> None:
        """Nothing reached the car; the cloud itself answered."""
        super().__init__(Outcome.BAD_REQUEST, sent=True, detail=detail)


class MissingScopes(CloudBadRequest):
    """The token works but lacks a scope this call needs (403 "Unauthorized missing scopes")."""


class WrongRegion(CloudBadRequest):
    """The account lives on another regional server (421); `base_url` names it when told."""

    def __init__(self, base_url: str | None, *, sent: bool, detail: str | None = None) -> None:
        """Keep the server the answer names."""
        super().__init__(Outcome.BAD_REQUEST, sent=sent, detail=detail)
        self.base_url = base_url


class RegionNotRegistered(CloudBadRequest):
    """The application is not registered in the account's region (412)."""


class AccountBlocked(CloudBadRequest):
    """The account is locked (423) or the owner's privacy settings block the call (451)."""


class PaymentRequired(CloudBadRequest):
    """The provider serves the account no more until it is paid for (402); nothing ran.

    `reason` is the answer's `error`: Teslemetry's `subscription_required`,
    `vehicle_subscription_required` or `insufficient_credits`, or '' for Tesla's own "Payment is
    required in order to use the API" (tesla-fleet-api `exceptions.py`, one class per form).
    """

    def __init__(self, reason: str, *, sent: bool, detail: str | None = None) -> None:
        """Keep what the answer said is unpaid."""
        super().__init__(Outcome.BAD_REQUEST, sent=sent, detail=detail)
        self.reason = reason


class VehicleUnavailable(CloudError):
    """The cloud could not reach the car, or the car answered with an error; it may have run.

    503 "vehicle is not available" through `signed_command` (vehicle-command#89) and 540: the
    car's failure, not the cloud's.
    """


class VehicleUnreached(VehicleUnavailable):
    """The cloud said the car is offline right after saying it is online; nothing ran.

    Tesla's `signed_command` answers 408 "vehicle is offline" to infotainment messages while
    the car is online and its security controller answers (vehicle-command#285, #450): no
    wake helps, and the car is not asleep.
    """


class CommandRejected(CloudBadRequest):
    """The car answered a command with a refusal and a reason."""

    def __init__(self, reason: str) -> None:
        """Keep the car's reason."""
        super().__init__(Outcome.BAD_REQUEST, sent=True, detail=reason or "no reason")
        self.reason = reason


class MalformedAnswerError(Exception):
    """The cloud answered 2xx with a body that is not what the Fleet API promises."""


class HttpStatusError(Exception):
    """An answer with an error status to a call the library does not check."""

    def __init__(self, status: int) -> None:
        """Keep the status."""
        super().__init__(f"HTTP {status}")
        self.status = status


_ERROR_TYPES: Final[dict[Outcome, type[CloudError]]] = {
    Outcome.AUTH_FAILED: CloudAuthError,
    Outcome.RATE_LIMITED: CloudRateLimited,
    Outcome.ASLEEP: VehicleAsleep,
    Outcome.SERVER_ERROR: CloudServerError,
    Outcome.TRANSPORT: CloudTransportError,
    Outcome.BAD_REQUEST: CloudBadRequest,
    Outcome.VEHICLE_UNAVAILABLE: VehicleUnavailable,
}


def cloud_error(
    outcome: Outcome, *, sent: bool, retry_after: float | None = None, detail: str | None = None
) -> CloudError:
    """Return the error type that belongs to `outcome`."""
    return _ERROR_TYPES[outcome](outcome, sent=sent, retry_after=retry_after, detail=detail)


@dataclass
class Trace:
    """What aiohttp's tracing saw of one call: whether it went out, its status, its Retry-After."""

    attempted: bool = False
    status: int | None = None
    retry_after: float | None = None


MAX_RETRY_AFTER_S: Final = 86_400.0
"""Longest wait a Retry-After header is believed for; a larger one is held to this."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait, from delta-seconds or an HTTP date; None when unreadable or not finite."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER_S)


VCP_REQUIRED: Final = "vehicle command protocol required"
"""Lower-cased words of the 403 Tesla sends to a plain REST command for a car that signs."""
HARDLOCKED: Final = "unsigned_cmds_hardlocked"
"""The reason of the 200 answer some firmware sends instead of the 403 above."""
MISSING_SCOPES: Final = "missing scopes"
VEHICLE_NOT_AVAILABLE: Final = ("vehicle is not available", "vehicle unavailable")
"""How a 503 says the car, not the server, could not be reached (vehicle-command#89)."""
PROXY_CAR_ASLEEP: Final = "vehicle is offline or asleep"
"""A tesla-http-proxy's 500 when the car sleeps: vehicle-command's `inet.ErrVehicleNotAwake`,
"vehicle unavailable: vehicle is offline or asleep", written as the body's `error` by
`pkg/proxy` (`writeJSONError`) when the car's session could not start."""
PROXY_CAR_REFUSED: Final = ("vehicle rejected request", "no private key available")
"""A tesla-http-proxy's 500 when the car does not know its key (`protocol.ErrKeyNotPaired`,
"vehicle rejected request: your public key has not been paired with the vehicle") or other
refusals of the car (vehicle-command `pkg/protocol/error.go`)."""
VEHICLE_SUBSCRIPTION: Final = "vehicle_subscription_required"
"""Teslemetry's 402 for one car without a data subscription (`VehicleSubscriptionRequired`)."""
PAYMENT_REASONS: Final = (
    VEHICLE_SUBSCRIPTION,
    "subscription_required",
    "insufficient_credits",
)
"""The `error` keys of Teslemetry's 402s, the longer first (tesla-fleet-api `exceptions.py`)."""
_TOKEN_WORDS: Final = ("token", "login", "unauthorized client")
_URL: Final = re.compile(r"https?://[^\s\"'<>,;]+")


def error_text(err: BaseException) -> str:
    """Return an answer body's `error` and `error_description` as sent; '' without one."""
    data: Any = getattr(err, "data", None)
    if isinstance(data, str):
        return data
    if not isinstance(data, Mapping):
        return ""
    parts = [data.get("error"), data.get("error_description")]
    return " ".join(str(part) for part in parts if isinstance(part, str) and part)


def region_base_url(text: str) -> str | None:
    """Return the server a 421 names ("user out of region, use base URL: https://..."), if any."""
    match = _URL.search(text)
    return match.group(0).rstrip("./") if match else None


def _forbidden(text: str, sent: bool, detail: str) -> CloudError:
    """Read a 403 by its body: only a token problem means signing in again."""
    if VCP_REQUIRED in text:
        return SigningRequired(detail)
    if MISSING_SCOPES in text or "scope" in text:
        return MissingScopes(Outcome.BAD_REQUEST, sent=sent, detail=detail)
    if any(word in text for word in _TOKEN_WORDS):
        return cloud_error(Outcome.AUTH_FAILED, sent=sent, detail=detail)
    return cloud_error(Outcome.BAD_REQUEST, sent=sent, detail=detail)


def from_status(status: int | None, err: BaseException, trace: Trace) -> CloudError:
    """Classify an answer by its HTTP status and, where the status alone is ambiguous, its body.

    As developer.tesla.com/docs/fleet-api (response codes) and the answers users report: a 401
    is the sign-in (except "mobile access disabled", the car's setting); a 403 depends on its
    body; a 402 is the provider's bill; 412, 421, 423 and 451 are the account's or the region's;
    503 "vehicle is not available" and 540 are the car's, and so is a tesla-http-proxy's 500
    whose body is the car's error (asleep, key not paired); other 5xx the cloud's.
    """
    sent = trace.attempted
    name = type(err).__name__
    detail = f"HTTP {status}, {name}" if status else name
    sent_text = error_text(err)
    text = sent_text.lower()
    if isinstance(err, ResponseError) and (status is None or status < 400 or status >= 500):
        return cloud_error(Outcome.SERVER_ERROR, sent=sent, detail=detail)
    if status == 408:
        return cloud_error(Outcome.ASLEEP, sent=sent, detail=detail)
    if status == 429:
        retry_after = trace.retry_after
        if retry_after is None and isinstance(err, TeslaFleetError):
            data = err.data if isinstance(err.data, dict) else {}
            retry_after = parse_retry_after(data.get("after"))
        return cloud_error(Outcome.RATE_LIMITED, sent=sent, retry_after=retry_after, detail=detail)
    if status == 401 and not isinstance(err, MobileAccessDisabled):
        return cloud_error(Outcome.AUTH_FAILED, sent=sent, detail=detail)
    if status == 403 and not isinstance(err, UnsupportedVehicle):
        return _forbidden(text, sent, detail)
    if status == 402:
        reason = next((key for key in PAYMENT_REASONS if key in text), "")
        return PaymentRequired(reason, sent=sent, detail=detail)
    if status == 412:
        return RegionNotRegistered(Outcome.BAD_REQUEST, sent=sent, detail=detail)
    if status == 421:
        return WrongRegion(region_base_url(sent_text), sent=sent, detail=detail)
    if status in (423, 451):
        return AccountBlocked(Outcome.BAD_REQUEST, sent=sent, detail=f"{detail}: {text}")
    if status == 500 and PROXY_CAR_ASLEEP in text:
        return cloud_error(Outcome.ASLEEP, sent=sent, detail=f"{detail}: car asleep")
    if status == 500 and any(words in text for words in PROXY_CAR_REFUSED):
        return cloud_error(Outcome.VEHICLE_UNAVAILABLE, sent=sent, detail=f"{detail}: {text}")
    if status == 540 or (status == 503 and any(w in text for w in VEHICLE_NOT_AVAILABLE)):
        return cloud_error(Outcome.VEHICLE_UNAVAILABLE, sent=sent, detail=detail)
    if status is not None and status >= 500:
        return cloud_error(Outcome.SERVER_ERROR, sent=sent, detail=detail)
    return cloud_error(Outcome.BAD_REQUEST, sent=sent, detail=detail)


def classify(err: BaseException, *, attempted: bool = True) -> CloudError:
    """Turn anything a cloud call raised into the matching CloudError."""
    return classify_traced(err, Trace(attempted=attempted))


def classify_traced(err: BaseException, trace: Trace) -> CloudError:
    """Classify what a call raised, with what tracing saw of that call."""
    if isinstance(err, CloudError):
        return err
    name = type(err).__name__
    if isinstance(err, TeslaFleetError | aiohttp.ClientResponseError):
        return from_status(err.status, err, trace)
    if isinstance(err, aiohttp.ClientSSLError) and _certificate_failure(err):
        return UntrustedCertificate(Outcome.TRANSPORT, sent=False, detail=name)
    if isinstance(err, aiohttp.InvalidURL):
        return cloud_error(Outcome.BAD_REQUEST, sent=False, detail=name)
    if isinstance(err, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return cloud_error(Outcome.TRANSPORT, sent=False, detail=name)
    if isinstance(err, aiohttp.ClientError | TimeoutError | OSError):
        return cloud_error(Outcome.TRANSPORT, sent=trace.attempted, detail=name)
    return cloud_error(Outcome.SERVER_ERROR, sent=trace.attempted, detail=name)


def _certificate_failure(err: aiohttp.ClientSSLError) -> bool:
    """Whether TLS failed because the certificate did not verify (not a reset mid-handshake)."""
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        return True
    cause = getattr(err, "os_error", None) or err.__cause__
    return isinstance(cause, ssl.SSLCertVerificationError)
