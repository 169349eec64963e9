"""The cloud link: Tesla Fleet API calls, every outcome classified."""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final, Protocol

import aiohttp
import jwt
from homeassistant.const import CONF_ACCESS_TOKEN, EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import OAuth2Session
from homeassistant.helpers.singleton import singleton
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import (
    MobileAccessDisabled,
    ResponseError,
    TeslaFleetError,
    UnsupportedVehicle,
)

from .const import CONNECT_TIMEOUT, MODELS, REQUEST_TIMEOUT, STATUS_TIMEOUT
from .health import Capability, Outcome
from .router import COMMANDS, Command
from .state import Field

type OutcomeListener = Callable[[OutcomeReport], None]

ONLINE: Final = "online"
ASLEEP: Final = "asleep"
OFFLINE: Final = "offline"

BENIGN_REASONS: Final = frozenset({"already_set", "not_charging", "is_charging", "requested"})
"""Refusals that mean the car is already where the command wanted it."""


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


_ERROR_TYPES: Final[dict[Outcome, type[CloudError]]] = {
    Outcome.AUTH_FAILED: CloudAuthError,
    Outcome.RATE_LIMITED: CloudRateLimited,
    Outcome.ASLEEP: VehicleAsleep,
    Outcome.SERVER_ERROR: CloudServerError,
    Outcome.TRANSPORT: CloudTransportError,
    Outcome.BAD_REQUEST: CloudBadRequest,
}


def _error(
    outcome: Outcome, *, sent: bool, retry_after: float | None = None, detail: str | None = None
) -> CloudError:
    return _ERROR_TYPES[outcome](outcome, sent=sent, retry_after=retry_after, detail=detail)


@dataclass(frozen=True, slots=True)
class VehicleSummary:
    """A vehicle as the account's product list describes it."""

    vin: str
    display_name: str
    state: str

    @property
    def model(self) -> str | None:
        """Model name decoded from the VIN."""
        return MODELS.get(self.vin[3]) if len(self.vin) > 3 else None


@dataclass(frozen=True, slots=True)
class CloudSnapshot:
    """Vehicle facts from one data call and the car's own Unix time of them."""

    values: dict[Field, Any]
    timestamp: float | None


@dataclass
class _Trace:
    attempted: bool = False
    status: int | None = None
    retry_after: float | None = None


_TRACE: ContextVar[_Trace | None] = ContextVar("tesla_resilient_cloud_trace", default=None)


MAX_RETRY_AFTER_S: Final = 86_400.0
"""Longest wait a Retry-After header is believed for; a larger one is held to this."""


def _parse_retry_after(value: str | None) -> float | None:
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


async def _on_headers_sent(
    _session: aiohttp.ClientSession, _context: Any, _params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    if (trace := _TRACE.get()) is not None:
        trace.attempted = True


async def _on_request_end(
    _session: aiohttp.ClientSession, _context: Any, params: aiohttp.TraceRequestEndParams
) -> None:
    if (trace := _TRACE.get()) is not None:
        trace.status = params.response.status
        trace.retry_after = _parse_retry_after(params.response.headers.get("Retry-After"))


def trace_config() -> aiohttp.TraceConfig:
    """Aiohttp's tracing hooks that note in the running call's trace what the server answered.

    The library turns answers into its own exceptions and keeps the status line and headers to
    itself; aiohttp's public tracing tells the link whether a request went out (its headers were
    sent: a call that timed out before that never reached the server), its status and its
    Retry-After, whichever library version made the request.
    """
    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(_on_headers_sent)
    config.on_request_end.append(_on_request_end)
    return config


REQUEST_TIMEOUTS: Final = aiohttp.ClientTimeout(
    total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=REQUEST_TIMEOUT
)
"""Per request: a refused or unreachable server fails fast, a slow answer within the read budget."""


@singleton("tesla_resilient_cloud_session")
@callback
def cloud_session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Return the one HTTP session all cloud links share: traced and bounded in time.

    It belongs to no config entry (one entry unloading must not close it for the others and
    for config flows), so it is closed when Home Assistant closes.
    """
    session = async_create_clientsession(
        hass, auto_cleanup=False, timeout=REQUEST_TIMEOUTS, trace_configs=[trace_config()]
    )

    async def _close(_event: Event) -> None:
        await session.close()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, _close)
    return session


class _MalformedAnswerError(Exception):
    """The cloud answered 2xx with a body that is not what the Fleet API promises."""


class _HttpStatusError(Exception):
    """An answer with an error status to a call the library does not check."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _from_status(status: int | None, err: BaseException, trace: _Trace) -> CloudError:
    sent = trace.attempted
    name = type(err).__name__
    detail = f"HTTP {status}, {name}" if status else name
    if isinstance(err, ResponseError) and (status is None or status < 400 or status >= 500):
        return _error(Outcome.SERVER_ERROR, sent=sent, detail=detail)
    if status == 408:
        return _error(Outcome.ASLEEP, sent=sent, detail=detail)
    if status == 429:
        retry_after = trace.retry_after
        if retry_after is None and isinstance(err, TeslaFleetError):
            data = err.data if isinstance(err.data, dict) else {}
            retry_after = _parse_retry_after(data.get("after"))
        return _error(Outcome.RATE_LIMITED, sent=sent, retry_after=retry_after, detail=detail)
    if status in (401, 403) and not isinstance(err, MobileAccessDisabled | UnsupportedVehicle):
        return _error(Outcome.AUTH_FAILED, sent=sent, detail=detail)
    if status is not None and status >= 500:
        return _error(Outcome.SERVER_ERROR, sent=sent, detail=detail)
    return _error(Outcome.BAD_REQUEST, sent=sent, detail=detail)


def classify(err: BaseException, *, attempted: bool = True) -> CloudError:
    """Turn anything a cloud call raised into the matching CloudError."""
    return _classify(err, _Trace(attempted=attempted))


def _classify(err: BaseException, trace: _Trace) -> CloudError:
    if isinstance(err, CloudError):
        return err
    name = type(err).__name__
    if isinstance(err, TeslaFleetError):
        return _from_status(err.status, err, trace)
    if isinstance(err, aiohttp.ClientResponseError):
        return _from_status(err.status, err, trace)
    if isinstance(err, aiohttp.InvalidURL):
        return _error(Outcome.BAD_REQUEST, sent=False, detail=name)
    if isinstance(err, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return _error(Outcome.TRANSPORT, sent=False, detail=name)
    if isinstance(err, aiohttp.ClientError | TimeoutError | OSError):
        return _error(Outcome.TRANSPORT, sent=trace.attempted, detail=name)
    return _error(Outcome.SERVER_ERROR, sent=trace.attempted, detail=name)


class TokenSource(Protocol):
    """Where a link gets its bearer token, and whether it can get a fresh one."""

    async def access_token(self) -> str:
        """Return a token believed valid now."""

    async def force_refresh(self) -> bool:
        """Replace a token the server refused; return False when this source cannot."""


class StaticToken:
    """A token given by the user and never refreshed here (a provider's API token)."""

    def __init__(self, access_token: str) -> None:
        """Hold the token."""
        self._token = access_token

    async def access_token(self) -> str:
        """Return the token as given."""
        return self._token

    async def force_refresh(self) -> bool:
        """Refuse: a static token cannot be refreshed."""
        return False


class OAuthToken:
    """Tokens from Home Assistant's OAuth2 session for the entry, refreshed when due."""

    def __init__(self, session: OAuth2Session) -> None:
        """Use the entry's OAuth2 session."""
        self._session = session
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """Refresh when the token is about to expire, then return it."""
        async with self._lock:
            await self._guard(self._session.async_ensure_token_valid())
        token: str = self._session.token[CONF_ACCESS_TOKEN]
        return token

    async def force_refresh(self) -> bool:
        """Refresh now, whatever the stored expiry says."""
        async with self._lock:
            session = self._session
            new_token = await self._guard(session.implementation.async_refresh_token(session.token))
            session.hass.config_entries.async_update_entry(
                session.config_entry, data={**session.config_entry.data, "token": new_token}
            )
        return True

    @staticmethod
    async def _guard[T](pending: Awaitable[T]) -> T:
        try:
            return await pending
        except aiohttp.ClientResponseError as err:
            outcome = (
                Outcome.AUTH_FAILED
                if err.status in (400, 401, 403)
                else _from_status(err.status, err, _Trace()).outcome
            )
            raise _error(outcome, sent=False, detail=f"token refresh HTTP {err.status}") from err
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise _error(
                Outcome.TRANSPORT, sent=False, detail=f"token refresh {type(err).__name__}"
            ) from err


def _claims(access_token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def token_scopes(access_token: str) -> frozenset[str] | None:
    """Return the scopes a Tesla JWT grants, or None when it is not a readable JWT."""
    scopes = (_claims(access_token) or {}).get("scp")
    if isinstance(scopes, str):
        return frozenset(scopes.split())
    if isinstance(scopes, list):
        return frozenset(str(scope) for scope in scopes)
    return None


def token_subject(access_token: str) -> str | None:
    """Return the account a Tesla JWT belongs to, or None when it is not a readable JWT."""
    subject = (_claims(access_token) or {}).get("sub")
    return str(subject) if subject else None


def _response(answer: Any) -> Any:
    if not isinstance(answer, Mapping) or "response" not in answer:
        raise _MalformedAnswerError
    return answer["response"]


def _summary(product: Any) -> VehicleSummary | None:
    if not isinstance(product, Mapping) or not isinstance(vin := product.get("vin"), str):
        return None
    return VehicleSummary(
        vin=vin,
        display_name=str(product.get("display_name") or vin),
        state=str(product.get("state") or OFFLINE),
    )


def _bool(value: Any) -> bool:
    return bool(value)


def _latched(value: Any) -> bool:
    return str(value) == "Engaged"


def _snake(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in text).lstrip("_")


def _shift(value: Any) -> str:
    return "p" if value in (None, "") else str(value).lower()


def _number(value: Any) -> Any:
    """Return a finite number as given; None for anything else (NaN, infinities, huge ints)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:
        return None


def _speed(value: Any) -> Any:
    return 0 if value is None else _number(value)


def _cable(value: Any) -> bool:
    return value not in (None, "", "<invalid>")


def _version(value: Any) -> str | None:
    return str(value).split(" ", 1)[0] if value else None


_SECTIONS: Final = ("charge_state", "climate_state", "vehicle_state", "drive_state")

_MAPPING: Final[tuple[tuple[Field, str, str, Callable[[Any], Any]], ...]] = (
    (Field.LOCKED, "vehicle_state", "locked", _bool),
    (Field.USER_PRESENT, "vehicle_state", "is_user_present", _bool),
    (Field.DOOR_DF, "vehicle_state", "df", _bool),
    (Field.DOOR_DR, "vehicle_state", "dr", _bool),
    (Field.DOOR_PF, "vehicle_state", "pf", _bool),
    (Field.DOOR_PR, "vehicle_state", "pr", _bool),
    (Field.TRUNK_OPEN, "vehicle_state", "rt", _bool),
    (Field.FRUNK_OPEN, "vehicle_state", "ft", _bool),
    (Field.WINDOW_FD, "vehicle_state", "fd_window", _bool),
    (Field.WINDOW_FP, "vehicle_state", "fp_window", _bool),
    (Field.WINDOW_RD, "vehicle_state", "rd_window", _bool),
    (Field.WINDOW_RP, "vehicle_state", "rp_window", _bool),
    (Field.SENTRY_MODE, "vehicle_state", "sentry_mode", _bool),
    (Field.ODOMETER, "vehicle_state", "odometer", _number),
    (Field.TPMS_FL, "vehicle_state", "tpms_pressure_fl", _number),
    (Field.TPMS_FR, "vehicle_state", "tpms_pressure_fr", _number),
    (Field.TPMS_RL, "vehicle_state", "tpms_pressure_rl", _number),
    (Field.TPMS_RR, "vehicle_state", "tpms_pressure_rr", _number),
    (Field.SOFTWARE_VERSION, "vehicle_state", "car_version", _version),
    (Field.BATTERY_LEVEL, "charge_state", "battery_level", _number),
    (Field.BATTERY_RANGE, "charge_state", "battery_range", _number),
    (Field.CHARGING_STATE, "charge_state", "charging_state", _snake),
    (Field.CHARGER_POWER, "charge_state", "charger_power", _number),
    (Field.CHARGE_RATE, "charge_state", "charge_rate", _number),
    (Field.TIME_TO_FULL_CHARGE, "charge_state", "time_to_full_charge", _number),
    (Field.CHARGE_LIMIT_SOC, "charge_state", "charge_limit_soc", _number),
    (Field.CHARGE_CURRENT_REQUEST, "charge_state", "charge_current_request", _number),
    (Field.CHARGE_CURRENT_REQUEST_MAX, "charge_state", "charge_current_request_max", _number),
    (Field.CHARGE_PORT_DOOR_OPEN, "charge_state", "charge_port_door_open", _bool),
    (Field.CHARGE_PORT_LATCH_ENGAGED, "charge_state", "charge_port_latch", _latched),
    (Field.CABLE_CONNECTED, "charge_state", "conn_charge_cable", _cable),
    (Field.CLIMATE_ON, "climate_state", "is_climate_on", _bool),
    (Field.INSIDE_TEMP, "climate_state", "inside_temp", _number),
    (Field.OUTSIDE_TEMP, "climate_state", "outside_temp", _number),
    (Field.DRIVER_TEMP_SETTING, "climate_state", "driver_temp_setting", _number),
    (Field.SHIFT_STATE, "drive_state", "shift_state", _shift),
    (Field.SPEED, "drive_state", "speed", _speed),
    (Field.LATITUDE, "drive_state", "latitude", _number),
    (Field.LONGITUDE, "drive_state", "longitude", _number),
    (Field.HEADING, "drive_state", "heading", _number),
)
"""Where each field sits in a vehicle_data answer and how its value reads."""


def snapshot_from_vehicle_data(data: Mapping[str, Any]) -> CloudSnapshot:
    """Map a Fleet API vehicle_data response body to fields and the car's data time."""
    values: dict[Field, Any] = {}
    for key, section_name, name, convert in _MAPPING:
        section = data.get(section_name)
        if isinstance(section, Mapping) and name in section:
            values[key] = convert(section[name])
    charge = data.get("charge_state")
    if isinstance(charge, Mapping) and "charging_state" in charge:
        values[Field.CHARGING] = charge["charging_state"] in ("Charging", "Starting")
        if Field.CABLE_CONNECTED not in values:
            values[Field.CABLE_CONNECTED] = charge["charging_state"] != "Disconnected"
    stamps = [
        section["timestamp"]
        for name in _SECTIONS
        if isinstance(section := data.get(name), Mapping)
        and _number(section.get("timestamp")) is not None
    ]
    return CloudSnapshot(values, max(stamps) / 1000 if stamps else None)


def _stamp_ms(snapshot: CloudSnapshot) -> int | None:
    return None if snapshot.timestamp is None else round(snapshot.timestamp * 1000)


_LIBRARY_ASKS_FOR_TOKEN: Final = inspect.iscoroutinefunction(
    getattr(TeslaFleetApi, "access_token", None)
)
"""Whether the library asks for the bearer token before each request (tesla-fleet-api 1.3 on).

Before 1.3 the token was a plain attribute read by each request; from 1.3 `access_token` takes a
coroutine function. The supported range spans both (1.0.17 in Home Assistant 2025.4, 1.4.2 in
2026.2): this and `_fleet_api` are the one place that knows.
"""

_LIBRARY_COMMANDS: Final[Mapping[str, str]] = {"unlock_charge_port": "charge_port_door_open"}
"""Commands whose Fleet API endpoint has another name: the charge port door opens to unlock."""


def _fleet_api(session: aiohttp.ClientSession, server: str, tokens: TokenSource) -> Any:
    token = tokens.access_token if _LIBRARY_ASKS_FOR_TOKEN else None
    return TeslaFleetApi(
        session=session,
        server=server,
        access_token=token,
        charging_scope=False,
        energy_scope=False,
        partner_scope=False,
    )


class CloudLink:
    """One account's Fleet API server, every call bounded in time and classified."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        tokens: TokenSource,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Talk to `base_url` over Home Assistant's session with tokens from `tokens`."""
        self._tokens = tokens
        self._monotonic = monotonic
        self._listeners: list[OutcomeListener] = []
        self._api = _fleet_api(session, base_url.rstrip("/"), tokens)
        self._vehicles: dict[str, Any] = {}

    @property
    def base_url(self) -> str:
        """The Fleet API server this link talks to."""
        server: str = self._api.server
        return server

    def add_outcome_listener(self, listener: OutcomeListener) -> Callable[[], None]:
        """Call `listener` with every classified outcome; returns a function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _report(self, report: OutcomeReport) -> None:
        for listener in list(self._listeners):
            listener(report)

    async def _call[T](
        self,
        request: Request,
        call: Callable[[], Awaitable[T]],
        *,
        vin: str | None = None,
        budget: float | None = None,
        data_timestamp: Callable[[T], int | None] | None = None,
    ) -> T:
        """Run one call, once more after a refused token was replaced, and report the outcome."""
        try:
            result = await self._attempt(call, budget)
        except CloudAuthError as err:
            if not err.sent or not await self._refreshed():
                self._report_error(request, err, vin)
                raise
            try:
                result = await self._attempt(call, budget)
            except CloudError as retry_err:
                self._report_error(request, retry_err, vin)
                raise
        except CloudError as err:
            self._report_error(request, err, vin)
            raise
        stamp = data_timestamp(result) if data_timestamp is not None else None
        self._report(
            OutcomeReport(request, Outcome.SUCCESS, self._monotonic(), vin, data_timestamp_ms=stamp)
        )
        return result

    async def _refreshed(self) -> bool:
        try:
            return await self._tokens.force_refresh()
        except CloudError:
            return False

    async def _attempt[T](self, call: Callable[[], Awaitable[T]], budget: float | None) -> T:
        trace = _Trace()
        reset = _TRACE.set(trace)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT if budget is None else budget):
                await self._fresh_token()
                return await call()
        except (TeslaFleetError, aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
            raise _classify(err, trace) from err
        except (AttributeError, TypeError, LookupError) as err:
            # The library read an answer of a shape it did not expect (an error body that is
            # not an object, say): the server answered with something unreadable.
            raise _error(Outcome.SERVER_ERROR, sent=True, detail=type(err).__name__) from err
        except _HttpStatusError as err:
            raise _from_status(err.status, err, trace) from err
        except _MalformedAnswerError as err:
            raise _error(Outcome.SERVER_ERROR, sent=True, detail="unexpected answer") from err
        finally:
            _TRACE.reset(reset)

    def _report_error(self, request: Request, err: CloudError, vin: str | None) -> None:
        self._report(
            OutcomeReport(
                request, err.outcome, self._monotonic(), vin, err.retry_after, sent=err.sent
            )
        )

    async def _fresh_token(self) -> None:
        if not _LIBRARY_ASKS_FOR_TOKEN:
            self._api.access_token = await self._tokens.access_token()

    def _vehicle(self, vin: str) -> Any:
        if (vehicle := self._vehicles.get(vin)) is None:
            vehicle = self._vehicles[vin] = self._api.vehicles.createFleet(vin)
        return vehicle

    async def status(self, budget: float = STATUS_TIMEOUT) -> None:
        """Probe the free, unauthenticated /status endpoint; raises CloudError unless `ok`."""

        async def call() -> None:
            answer = str(await self._api.status()).strip().strip('"')
            trace = _TRACE.get()
            if trace is not None and trace.status is not None and trace.status >= 400:
                raise _HttpStatusError(trace.status)
            if answer != "ok":
                raise _MalformedAnswerError

        await self._call(Request.STATUS, call, budget=budget)

    async def products(self) -> list[VehicleSummary]:
        """List the account's vehicles."""

        async def call() -> list[VehicleSummary]:
            products = _response(await self._api.products())
            if not isinstance(products, list):
                raise _MalformedAnswerError
            return [summary for product in products if (summary := _summary(product))]

        return await self._call(Request.PRODUCTS, call)

    async def account_id(self) -> str | None:
        """Return a stable id of the account from /api/1/users/me, if the server tells one."""

        async def call() -> str | None:
            me = _response(await self._api.user.me())
            if not isinstance(me, Mapping):
                raise _MalformedAnswerError
            for key in ("vault_uuid", "id", "user_id"):
                if me.get(key):
                    return str(me[key])
            return None

        return await self._call(Request.ACCOUNT, call)

    async def region_server(self) -> str | None:
        """Return the Fleet API server the account lives on, from /api/1/users/region."""

        async def call() -> str | None:
            region = _response(await self._api.user.region())
            if not isinstance(region, Mapping):
                raise _MalformedAnswerError
            server = region.get("fleet_api_base_url")
            return str(server).rstrip("/") if server else None

        return await self._call(Request.REGION, call)

    async def vehicle_state(self, vin: str) -> str:
        """Return online, asleep or offline from the free state call, without waking the car."""

        async def call() -> str:
            vehicle = _response(await self._vehicle(vin).vehicle())
            if not isinstance(vehicle, Mapping) or not isinstance(vehicle.get("state"), str):
                raise _MalformedAnswerError
            return str(vehicle["state"] or OFFLINE)

        return await self._call(Request.VEHICLE_STATE, call, vin=vin)

    async def vehicle_data(self, vin: str, *, location: bool = True) -> CloudSnapshot:
        """Read an online car's data (a paid call), mapped to fields."""
        endpoints = list(_SECTIONS)
        if location:
            endpoints.append("location_data")

        async def call() -> CloudSnapshot:
            data = _response(await self._vehicle(vin).vehicle_data(endpoints=endpoints))
            if not isinstance(data, Mapping):
                raise _MalformedAnswerError
            return snapshot_from_vehicle_data(data)

        return await self._call(Request.VEHICLE_DATA, call, vin=vin, data_timestamp=_stamp_ms)

    async def wake_up(self, vin: str) -> str:
        """Ask the car to wake; returns its state right after the request."""

        async def call() -> str:
            answer = _response(await self._vehicle(vin).wake_up())
            if not isinstance(answer, Mapping):
                raise _MalformedAnswerError
            return str(answer.get("state") or OFFLINE)

        return await self._call(Request.WAKE_UP, call, vin=vin)

    async def command(self, vin: str, name: str, **params: Any) -> None:
        """Run one command by its Fleet API name; raise CommandRejected when the car says no."""
        if name not in COMMANDS or name == Command.WAKE_UP:
            raise _error(Outcome.BAD_REQUEST, sent=False, detail=f"no Fleet API command {name}")
        method = getattr(self._vehicle(vin), _LIBRARY_COMMANDS.get(name, name))

        async def call() -> None:
            answer = _response(await method(**params))
            if not isinstance(answer, Mapping) or not isinstance(answer.get("result"), bool):
                raise _MalformedAnswerError
            if answer.get("result") is True:
                return
            reason = str(answer.get("reason") or "")
            if reason not in BENIGN_REASONS:
                raise CommandRejected(reason)

        await self._call(Request.COMMAND, call, vin=vin)
