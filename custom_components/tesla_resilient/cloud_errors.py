"""Every cloud outcome classified: the errors a cloud call ends in and the rules that pick one."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Final

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
    """The token was rejected (401/403) or could not be refreshed."""


class CloudRateLimited(CloudError):
    """The cloud asks to slow down (429), for `retry_after` seconds when it says so."""


class VehicleAsleep(CloudError):
    """The car is asleep or offline (408); nothing reached it."""


class CloudServerError(CloudError):
    """The cloud answered with a server error (5xx) or with something unreadable."""


class CloudTransportError(CloudError):
    """No answer: refused, DNS, TLS, reset or timed out."""


class CloudBadRequest(CloudError):
    """The cloud or the car turned the request down (4xx)."""


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


def from_status(status: int | None, err: BaseException, trace: Trace) -> CloudError:
    """Classify an answer by its HTTP status, and a 403 by what the library read of its body."""
    sent = trace.attempted
    name = type(err).__name__
    detail = f"HTTP {status}, {name}" if status else name
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
    if status in (401, 403) and not isinstance(err, MobileAccessDisabled | UnsupportedVehicle):
        return cloud_error(Outcome.AUTH_FAILED, sent=sent, detail=detail)
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
    if isinstance(err, aiohttp.InvalidURL):
        return cloud_error(Outcome.BAD_REQUEST, sent=False, detail=name)
    if isinstance(err, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return cloud_error(Outcome.TRANSPORT, sent=False, detail=name)
    if isinstance(err, aiohttp.ClientError | TimeoutError | OSError):
        return cloud_error(Outcome.TRANSPORT, sent=trace.attempted, detail=name)
    return cloud_error(Outcome.SERVER_ERROR, sent=trace.attempted, detail=name)
