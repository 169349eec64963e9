"""Fleet API answers of any shape: over real loopback HTTP to CloudLink, and straight into the
helpers that turn vehicle_data JSON into fields.

Every CloudLink call returns a value or raises a CloudError subclass, and never hangs; mapped
fields are always of a shape the entities can show.
"""

from __future__ import annotations

import asyncio
import json
import math
import string
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from custom_components.tesla_resilient.cloud import CloudLink
from custom_components.tesla_resilient.cloud_data import (
    MAPPING,
    SECTIONS,
    CloudSnapshot,
    VehicleSummary,
    snapshot_from_vehicle_data,
)
from custom_components.tesla_resilient.cloud_errors import CloudError, parse_retry_after
from custom_components.tesla_resilient.cloud_session import trace_config
from custom_components.tesla_resilient.state import Field, Source, VehicleState
from custom_components.tesla_resilient.tokens import StaticToken
from tests.fuzz.common import fuzz_settings

VIN = "5YJ3E7EB0NF000001"
CALL_LIMIT_S = 10.0
"""A call that takes longer hangs (the server always answers at once)."""

NUMERIC_FIELDS = frozenset(
    key for key, _section, _name, convert in MAPPING if convert.__name__ in ("_number", "_speed")
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["Charging", "Starting", "Disconnected", "Engaged", "D", "", "<invalid>"]),
    st.sampled_from([math.nan, math.inf, -math.inf, 10**400, 1.7e308, -0.0]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def vehicle_data_bodies(draw: st.DrawFn) -> Any:
    """vehicle_data answers: mostly the right sections and keys, with values of any shape."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    body: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from([*SECTIONS, "location_data"]), max_size=5)):
        if draw(st.booleans()):
            body[section] = draw(json_values)
            continue
        names = [name for _key, where, name, _convert in MAPPING if where == section]
        keys = draw(st.lists(st.sampled_from([*names, "timestamp"]), max_size=6))
        body[section] = {key: draw(json_values) for key in keys}
    return body


def _finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_snapshot(snapshot: CloudSnapshot) -> None:
    assert snapshot.timestamp is None or _finite_number(snapshot.timestamp)
    for key, value in snapshot.values.items():
        assert isinstance(key, Field)
        if key in NUMERIC_FIELDS:
            assert value is None or _finite_number(value), (key, value)
        elif key in (Field.SHIFT_STATE, Field.CHARGING_STATE, Field.SOFTWARE_VERSION):
            assert value is None or isinstance(value, str)
        else:
            assert isinstance(value, bool)
    # The coordinator merges the values at the car's own time.
    stamp = snapshot.timestamp
    at = 5_000.0 - max(0.0, 2_000_000_000.0 - stamp) if stamp is not None else 5_000.0
    VehicleState().update(snapshot.values, Source.CLOUD, at)


# Protects: vehicle_data with wrong types, nulls, missing keys, NaN, infinities or numbers too
# large for a float never raises while mapping, and every numeric field is a finite number.
@fuzz_settings(200)
@given(body=vehicle_data_bodies())
def test_vehicle_data_of_any_shape_maps_to_sane_fields(body: Any) -> None:
    if not isinstance(body, dict):
        body = {"charge_state": body}
    _check_snapshot(snapshot_from_vehicle_data(body))


retry_after_values = st.one_of(
    st.text(alphabet=string.printable.strip() + " ", max_size=40),
    st.sampled_from(
        ["inf", "-inf", "nan", "1e400", "1e308", "-5", "0", "Wed, 21 Oct 2015 07:28:00 GMT"]
    ),
    st.floats().map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.datetimes().map(lambda when: when.strftime("%a, %d %b %Y %H:%M:%S GMT")),
)


# Protects: any Retry-After header reads as None or a finite, non-negative wait that the
# coordinator can turn into the time its calls are held back until.
@fuzz_settings(200)
@given(value=retry_after_values)
def test_any_retry_after_gives_a_usable_wait(value: str) -> None:
    wait = parse_retry_after(value)
    if wait is not None:
        assert _finite_number(wait)
        assert wait >= 0
        assert timedelta(seconds=wait) >= timedelta(0)
        assert _finite_number(time.monotonic() + wait)


@dataclass
class Answer:
    """What the server says next."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FleetServer:
    """A loopback HTTP server that answers every request with `answer`."""

    answer: Answer = field(default_factory=Answer)
    requests: int = 0
    base_url: str = ""


@pytest.fixture
async def fleet_server(socket_enabled: None) -> AsyncGenerator[FleetServer]:
    server = FleetServer()

    async def handle(_request: web.Request) -> web.StreamResponse:
        server.requests += 1
        answer = server.answer
        headers = {"Content-Type": answer.content_type, **answer.headers}
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base_url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def cloud(fleet_server: FleetServer) -> AsyncGenerator[CloudLink]:
    async with aiohttp.ClientSession(trace_configs=[trace_config()]) as session:
        yield CloudLink(session, fleet_server.base_url, StaticToken("token"))


CALLS: list[tuple[str, Callable[[CloudLink], Awaitable[Any]]]] = [
    ("status", lambda cloud: cloud.status()),
    ("products", lambda cloud: cloud.products()),
    ("account_id", lambda cloud: cloud.account_id()),
    ("region_server", lambda cloud: cloud.region_server()),
    ("vehicle_state", lambda cloud: cloud.vehicle_state(VIN)),
    ("vehicle_data", lambda cloud: cloud.vehicle_data(VIN)),
    ("wake_up", lambda cloud: cloud.wake_up(VIN)),
    ("command", lambda cloud: cloud.command(VIN, "set_charge_limit", percent=80)),
]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """Bodies of any kind: Fleet API envelopes around odd values, bare JSON, or not JSON."""
    kind = draw(st.sampled_from(["envelope", "vehicle_data", "json", "error", "bytes"]))
    if kind == "bytes":
        return bytes(draw(st.binary(max_size=200)))
    if kind == "envelope":
        value: Any = {"response": draw(json_values)}
    elif kind == "vehicle_data":
        value = {"response": draw(vehicle_data_bodies())}
    elif kind == "error":
        value = {"error": draw(json_values), "error_description": draw(json_values)}
    else:
        value = draw(json_values)
    # Python's json writes NaN and Infinity, as a sloppy server may.
    return json.dumps(value).encode()


answers = st.builds(
    Answer,
    status=st.one_of(
        st.sampled_from([200, 201, 204, 400, 401, 402, 403, 404, 408, 412, 421, 429, 500, 503]),
        st.integers(200, 599),
    ),
    body=bodies(),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/jsonl",
            "text/plain",
            "text/html",
            "application/octet-stream",
        ]
    ),
    headers=st.dictionaries(st.just("Retry-After"), retry_after_values.filter(str.strip)),
)


# Protects: whatever status, content type, Retry-After and body the server answers with, each
# CloudLink call returns its value or raises a CloudError; nothing else escapes and nothing hangs.
@fuzz_settings(150)
@given(answer=answers, call=st.sampled_from(CALLS))
async def test_any_answer_gives_a_value_or_a_cloud_error(
    cloud: CloudLink,
    fleet_server: FleetServer,
    answer: Answer,
    call: tuple[str, Callable[[CloudLink], Awaitable[Any]]],
) -> None:
    fleet_server.answer = answer
    name, run = call
    failure: CloudError | None = None
    try:
        async with asyncio.timeout(CALL_LIMIT_S):
            result = await run(cloud)
    except CloudError as err:
        failure = err
    if failure is not None:
        assert failure.retry_after is None or _finite_number(failure.retry_after)
        return
    if name == "products":
        assert all(isinstance(vehicle, VehicleSummary) for vehicle in result)
    elif name == "vehicle_data":
        _check_snapshot(result)
    elif name in ("vehicle_state", "wake_up"):
        assert isinstance(result, str)
    else:
        assert result is None or isinstance(result, str)
