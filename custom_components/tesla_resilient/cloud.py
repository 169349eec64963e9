"""The cloud link: one account's Fleet API server through tesla-fleet-api, every call classified."""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
from tesla_fleet_api import TeslaFleetApi, Teslemetry, Tessie
from tesla_fleet_api.exceptions import TeslaFleetError

from .cloud_data import (
    OFFLINE,
    SECTIONS,
    CloudSnapshot,
    VehicleSummary,
    response,
    snapshot_from_vehicle_data,
    summary,
)
from .cloud_errors import (
    HARDLOCKED,
    CloudAuthError,
    CloudError,
    CommandRejected,
    HttpStatusError,
    MalformedAnswerError,
    OutcomeReport,
    Request,
    SigningRequired,
    Trace,
    WrongRegion,
    classify_traced,
    cloud_error,
    from_status,
)
from .cloud_session import TRACE
from .const import REQUEST_TIMEOUT, STATUS_TIMEOUT
from .health import Outcome
from .router import BENIGN_REASONS, COMMANDS, Command
from .tokens import TokenSource

type OutcomeListener = Callable[[OutcomeReport], None]
type ServerListener = Callable[[str], None]


_LIBRARY_ASKS_FOR_TOKEN: Final = inspect.iscoroutinefunction(
    getattr(TeslaFleetApi, "access_token", None)
)
"""Whether the library asks for the bearer token before each request (tesla-fleet-api 1.3 on).

Before 1.3 the token was a plain attribute read by each request; from 1.3 `access_token` takes a
coroutine function. The supported range spans both (1.0.17 in Home Assistant 2025.4, 1.4.2 in
2026.2): this and `_fleet_api` are the one place that knows.
"""


def _library_server(api: type[Any]) -> str:
    """Return a service's server as tesla-fleet-api's class names it.

    The default of its `server` parameter (1.4 on), else its `server` attribute (before).
    """
    parameter = inspect.signature(api).parameters.get("server")
    if parameter is not None and isinstance(parameter.default, str):
        return parameter.default
    return str(api.server)


TESLEMETRY_SERVER: Final = _library_server(Teslemetry)
TESSIE_SERVER: Final = _library_server(Tessie)

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
        on_server_moved: ServerListener | None = None,
        status_probe: tuple[aiohttp.ClientSession, str] | None = None,
    ) -> None:
        """Talk to `base_url` over Home Assistant's session with tokens from `tokens`.

        `on_server_moved` learns the new server when the cloud sends the account elsewhere (421);
        the /status probe asks `status_probe`'s session and server instead (Tesla's own).
        """
        self._tokens = tokens
        self._monotonic = monotonic
        self._on_server_moved = on_server_moved
        self._listeners: list[OutcomeListener] = []
        self._api = _fleet_api(session, base_url.rstrip("/"), tokens)
        probe = status_probe
        self._status_api = self._api if probe is None else _fleet_api(*probe, tokens)
        self._vehicles: dict[str, Any] = {}

    @property
    def base_url(self) -> str:
        """The Fleet API server this link talks to."""
        server: str = self._api.server
        return server

    @base_url.setter
    def base_url(self, url: str) -> None:
        """Talk to another server of the same account from the next request on."""
        self._api.server = url.rstrip("/")

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
        """Run one call and report the outcome.

        It runs once more after a refused token was replaced, or on the server a 421 named.
        """
        try:
            try:
                result = await self._attempt(call, budget)
            except WrongRegion as err:
                if not self._moved(err.base_url):
                    raise
                result = await self._attempt(call, budget)
            except CloudAuthError as err:
                if not err.sent or not await self._refreshed():
                    raise
                result = await self._attempt(call, budget)
        except CloudError as err:
            self._reportcloud_error(request, err, vin)
            raise
        stamp = data_timestamp(result) if data_timestamp is not None else None
        self._report(
            OutcomeReport(request, Outcome.SUCCESS, self._monotonic(), vin, data_timestamp_ms=stamp)
        )
        return result

    def _moved(self, base_url: str | None) -> bool:
        """Follow a 421 to the server it names: https, or the scheme already in use."""
        if base_url is None:
            return False
        current, new = urlsplit(self.base_url), urlsplit(base_url)
        if not new.netloc or new.scheme not in ("https", current.scheme):
            return False
        if base_url.rstrip("/") == self.base_url:
            return False
        self.base_url = base_url
        if self._on_server_moved is not None:
            self._on_server_moved(self.base_url)
        return True

    async def _refreshed(self) -> bool:
        """Replace a refused token; a refresh that failed for want of an answer raises that.

        Only a refusal of the refresh itself means signing in again: a token endpoint that is
        down or unreachable is an outage, not an authentication failure.
        """
        try:
            return await self._tokens.force_refresh()
        except CloudAuthError:
            return False

    async def _attempt[T](self, call: Callable[[], Awaitable[T]], budget: float | None) -> T:
        trace = Trace()
        reset = TRACE.set(trace)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT if budget is None else budget):
                await self._fresh_token()
                return await call()
        except (TeslaFleetError, aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
            raise classify_traced(err, trace) from err
        except (AttributeError, TypeError, LookupError) as err:
            # The library read an answer of a shape it did not expect (an error body that is
            # not an object, say): the server answered with something unreadable.
            raise cloud_error(Outcome.SERVER_ERROR, sent=True, detail=type(err).__name__) from err
        except HttpStatusError as err:
            raise from_status(err.status, err, trace) from err
        except MalformedAnswerError as err:
            raise cloud_error(Outcome.SERVER_ERROR, sent=True, detail="unexpected answer") from err
        finally:
            TRACE.reset(reset)

    def _reportcloud_error(self, request: Request, err: CloudError, vin: str | None) -> None:
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
            answer = str(await self._status_api.status()).strip().strip('"')
            trace = TRACE.get()
            if trace is not None and trace.status is not None and trace.status >= 400:
                raise HttpStatusError(trace.status)
            if answer != "ok":
                raise MalformedAnswerError

        await self._call(Request.STATUS, call, budget=budget)

    async def products(self) -> list[VehicleSummary]:
        """List the account's vehicles."""

        async def call() -> list[VehicleSummary]:
            products = response(await self._api.products())
            if not isinstance(products, list):
                raise MalformedAnswerError
            return [vehicle for product in products if (vehicle := summary(product))]

        return await self._call(Request.PRODUCTS, call)

    async def account_id(self) -> str | None:
        """Return a stable id of the account from /api/1/users/me, if the server tells one."""

        async def call() -> str | None:
            me = response(await self._api.user.me())
            if not isinstance(me, Mapping):
                raise MalformedAnswerError
            for key in ("vault_uuid", "id", "user_id"):
                if me.get(key):
                    return str(me[key])
            return None

        return await self._call(Request.ACCOUNT, call)

    async def region_server(self) -> str | None:
        """Return the Fleet API server the account lives on, from /api/1/users/region."""

        async def call() -> str | None:
            region = response(await self._api.user.region())
            if not isinstance(region, Mapping):
                raise MalformedAnswerError
            server = region.get("fleet_api_base_url")
            return str(server).rstrip("/") if server else None

        return await self._call(Request.REGION, call)

    async def vehicle_state(self, vin: str, *, budget: float | None = None) -> str:
        """Return online, asleep or offline from the free state call, without waking the car.

        `budget` bounds the call in seconds (the request timeout when None).
        """

        async def call() -> str:
            vehicle = response(await self._vehicle(vin).vehicle())
            if not isinstance(vehicle, Mapping) or not isinstance(vehicle.get("state"), str):
                raise MalformedAnswerError
            return str(vehicle["state"] or OFFLINE)

        return await self._call(Request.VEHICLE_STATE, call, vin=vin, budget=budget)

    async def vehicle_data(self, vin: str, *, location: bool = True) -> CloudSnapshot:
        """Read an online car's data (a paid call), mapped to fields."""
        endpoints = list(SECTIONS)
        if location:
            endpoints.append("location_data")

        async def call() -> CloudSnapshot:
            data = response(await self._vehicle(vin).vehicle_data(endpoints=endpoints))
            if not isinstance(data, Mapping):
                raise MalformedAnswerError
            return snapshot_from_vehicle_data(data)

        return await self._call(
            Request.VEHICLE_DATA,
            call,
            vin=vin,
            data_timestamp=lambda snapshot: snapshot.timestamp_ms,
        )

    async def wake_up(self, vin: str) -> str:
        """Ask the car to wake; returns its state right after the request."""

        async def call() -> str:
            answer = response(await self._vehicle(vin).wake_up())
            if not isinstance(answer, Mapping):
                raise MalformedAnswerError
            return str(answer.get("state") or OFFLINE)

        return await self._call(Request.WAKE_UP, call, vin=vin)

    async def command(self, vin: str, name: str, **params: Any) -> None:
        """Run one command by its Fleet API name; raise CommandRejected when the car says no."""
        if name not in COMMANDS or name == Command.WAKE_UP:
            raise cloud_error(
                Outcome.BAD_REQUEST, sent=False, detail=f"no Fleet API command {name}"
            )
        method = getattr(self._vehicle(vin), _LIBRARY_COMMANDS.get(name, name))

        async def call() -> None:
            answer = response(await method(**params))
            if not isinstance(answer, Mapping) or not isinstance(answer.get("result"), bool):
                raise MalformedAnswerError
            if answer.get("result") is True:
                return
            reason = str(answer.get("reason") or "")
            if reason == HARDLOCKED:
                raise SigningRequired(HARDLOCKED)
            if reason not in BENIGN_REASONS:
                raise CommandRejected(reason)

        await self._call(Request.COMMAND, call, vin=vin)

    async def signed_command(self, vin: str, message: bytes) -> bytes:
        """Hand a serialized RoutableMessage to the car through `signed_command`; return its answer.

        HTTP 200 means the car answered, not that it ran anything: the caller reads the car's
        message (developer.tesla.com, vehicle-command `pkg/connector/inet`).
        """
        vehicle = self._vehicle(vin)
        encoded = base64.b64encode(message).decode()

        async def call() -> bytes:
            answer = response(await vehicle.signed_command(encoded))
            if not isinstance(answer, str):
                raise MalformedAnswerError
            try:
                return base64.b64decode(answer, validate=True)
            except (binascii.Error, ValueError) as err:
                raise MalformedAnswerError from err

        return await self._call(Request.SIGNED_COMMAND, call, vin=vin)

    async def fleet_status(self, vins: list[str]) -> frozenset[str]:
        """Return which of `vins` have the application's key, as `fleet_status` lists them."""

        async def call() -> frozenset[str]:
            status = response(await self._vehicle(vins[0]).fleet_status(vins))
            paired = status.get("key_paired_vins") if isinstance(status, Mapping) else None
            if not isinstance(paired, list):
                raise MalformedAnswerError
            return frozenset(map(str, paired))

        return await self._call(Request.FLEET_STATUS, call)
