"""Each provider as its users run it, over real HTTP: Teslemetry, Tessie and a tesla-http-proxy."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator
from typing import Any
from unittest.mock import patch

import aiohttp
import pytest
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from tesla_fleet_api.exceptions import InternalServerError

from custom_components.tesla_resilient.cloud_errors import CloudAuthError, CloudError, classify
from custom_components.tesla_resilient.const import (
    CONF_CA_CERT,
    CONF_CLIENT_ID,
    CONF_PROVIDER,
    CONF_REFRESH_TOKEN,
    CONF_TESLA_SERVER,
    CONF_VEHICLES,
    DOMAIN,
)
from custom_components.tesla_resilient.diagnostics import async_get_config_entry_diagnostics
from custom_components.tesla_resilient.health import Outcome
from custom_components.tesla_resilient.providers import Provider, provider_of
from custom_components.tesla_resilient.proxy_link import async_proxy_session
from custom_components.tesla_resilient.tokens import RefreshingToken
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.providers import (
    PROXY_CAR_ASLEEP,
    ProviderFront,
    ProviderKind,
    self_signed_certificate,
)
from simulator.vehicle import VirtualCar

from .common import VIN, Advance, account_entry, lock_doors, requests_to, tesla_servers_at
from .test_config_flow import sign_in, suggested
from .test_signing import bluetooth_key_entry

SIGNING_ISSUE = f"signing_key_missing_{VIN}"


@pytest.fixture
async def front(
    request: pytest.FixtureRequest, fleet_api: FleetApiSimulator
) -> AsyncGenerator[ProviderFront]:
    """The provider named by the test's parameter, in front of the simulated account."""
    provider = ProviderFront(ProviderKind(request.param), fleet_api)
    await provider.start()
    try:
        yield provider
    finally:
        await provider.stop()


@pytest.fixture
def tesla_token_url(fleet_api: FleetApiSimulator) -> Iterator[None]:
    """Send the proxy entry's token refreshes to the simulator's token endpoint."""
    with patch(
        "custom_components.tesla_resilient.tokens.TOKEN_URL",
        f"{fleet_api.base_url}/oauth2/v3/token",
    ):
        yield


@pytest.fixture
def proxy_sessions() -> Iterator[list[aiohttp.ClientSession]]:
    """Every TLS session an entry opens to its proxy, to check that none is left open."""
    opened: list[aiohttp.ClientSession] = []

    async def recording(hass: HomeAssistant, ca: str) -> aiohttp.ClientSession:
        session = await async_proxy_session(hass, ca)
        opened.append(session)
        return session

    with patch("custom_components.tesla_resilient.account_link.async_proxy_session", recording):
        yield opened


async def choose(hass: HomeAssistant, step: str, flow_id: str | None = None) -> dict[str, Any]:
    """Open the add-account menu (or use `flow_id`'s) and pick `step`."""
    if flow_id is None:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        flow_id = result["flow_id"]
    return await hass.config_entries.flow.async_configure(flow_id, {"next_step_id": step})


async def add_service(
    hass: HomeAssistant, front: ProviderFront, token: str | None = None
) -> dict[str, Any]:
    """Add the account through Teslemetry's or Tessie's step, with the service's token."""
    servers = {Provider(str(front.kind)): front.base_url}
    with patch.dict("custom_components.tesla_resilient.provider_flow.SERVICE_SERVERS", servers):
        result = await choose(hass, str(front.kind))
        assert result["step_id"] == str(front.kind)
        assert CONF_URL not in [str(key) for key in result["data_schema"].schema]
        return await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_ACCESS_TOKEN: token or front.token}
        )


def proxy_input(
    front: ProviderFront, fleet_api: FleetApiSimulator, ca: str | None = None
) -> dict[str, Any]:
    return {
        CONF_URL: front.base_url,
        CONF_CA_CERT: front.ca_pem if ca is None else ca,
        CONF_REFRESH_TOKEN: fleet_api.refresh_token,
        CONF_CLIENT_ID: fleet_api.client_id,
    }


async def add_proxy(hass: HomeAssistant, front: ProviderFront, fleet_api: FleetApiSimulator) -> Any:
    """Add the account through the proxy step with the front's URL, CA and Tesla's tokens."""
    result = await choose(hass, "proxy")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], proxy_input(front, fleet_api)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    return result["result"]


async def set_up(hass: HomeAssistant, entry: MockConfigEntry | Any) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("front", ["teslemetry", "tessie"], indirect=True)
@pytest.mark.usefixtures("sim_clock")
async def test_service_signs_commands_itself(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront, car: VirtualCar
) -> None:
    """Only the token is asked; commands go plain to the service, which signs them itself."""
    result = await add_service(hass, front)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_PROVIDER: str(front.kind),
        CONF_URL: front.base_url,
        CONF_ACCESS_TOKEN: front.token,
        CONF_TESLA_SERVER: fleet_api.base_url,
    }
    entry = result["result"]
    await set_up(hass, entry)
    car.locked = False
    await lock_doors(hass)

    assert car.locked
    assert any(path.endswith("/command/door_lock") for path in front.requests)
    assert requests_to(fleet_api, "/signed_command") == 0
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is None


@pytest.mark.parametrize("front", ["teslemetry"], indirect=True)
async def test_service_token_refused_keeps_input(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront
) -> None:
    token = "a-token-teslemetry-never-issued"
    result = await add_service(hass, front, token)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_ACCESS_TOKEN) == token
    assert not hass.config_entries.async_entries(DOMAIN)


@pytest.mark.parametrize("front", ["teslemetry", "tessie"], indirect=True)
async def test_service_unpaid_is_said_at_setup_and_keeps_input(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront
) -> None:
    front.unpaid = "subscription_required"
    result = await add_service(hass, front)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "payment_required"}
    assert suggested(result, CONF_ACCESS_TOKEN) == front.token
    assert not hass.config_entries.async_entries(DOMAIN)


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("sim_clock", "tesla_token_url")
async def test_proxy_refreshes_tesla_tokens_and_keeps_the_rotated_one(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    front: ProviderFront,
    car: VirtualCar,
    advance: Advance,
) -> None:
    """Tesla's 8-hour tokens are refreshed here; each rotated refresh token is stored at once."""
    given = proxy_input(front, fleet_api)
    result = await choose(hass, "proxy")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], given)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data[CONF_PROVIDER] == "proxy"
    assert entry.data[CONF_TESLA_SERVER] == fleet_api.base_url
    assert entry.data[CONF_REFRESH_TOKEN] == fleet_api.refresh_token != given[CONF_REFRESH_TOKEN]
    await set_up(hass, entry)
    car.locked = False
    await lock_doors(hass)
    assert car.locked
    assert requests_to(fleet_api, "/signed_command") == 0
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is None

    first = entry.data[CONF_REFRESH_TOKEN]
    await advance(fleet_api.token_lifetime_s)
    await advance(60)
    assert entry.data[CONF_REFRESH_TOKEN] == fleet_api.refresh_token != first
    assert entry.state is ConfigEntryState.LOADED

    rotated = entry.data[CONF_REFRESH_TOKEN]
    fleet_api.expire_access_tokens()
    car.locked = False
    await lock_doors(hass)
    assert car.locked
    assert entry.data[CONF_REFRESH_TOKEN] == fleet_api.refresh_token != rotated
    assert not [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
    ]


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("sim_clock", "tesla_token_url")
async def test_proxy_refresh_token_refused_asks_to_sign_in_again(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    front: ProviderFront,
    proxy_sessions: list[aiohttp.ClientSession],
) -> None:
    """Tesla refusing the refresh token is a sign-in problem; the proxy's session still closes."""
    entry = await add_proxy(hass, front, fleet_api)
    await set_up(hass, entry)
    assert [session.closed for session in proxy_sessions] == [False]
    await hass.config_entries.async_unload(entry.entry_id)
    assert [session.closed for session in proxy_sessions] == [True]
    fleet_api.revoke_all_tokens()

    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in flows] == ["proxy"]
    assert [session.closed for session in proxy_sessions] == [True, True]


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("tesla_token_url")
async def test_proxy_certificate_that_does_not_match(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront
) -> None:
    """Another certificate, or none: a clear error, nothing saved, the input kept."""
    # The proxy's side of each refused handshake is reported only in the event loop's debug
    # mode (asyncio's accept path); what counts here is Home Assistant's side.
    hass.loop.set_debug(False)
    other, _key = self_signed_certificate()
    for ca in (other.decode(), ""):
        result = await choose(hass, "proxy")
        given = proxy_input(front, fleet_api, ca)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], given)

        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "invalid_certificate"}
        assert suggested(result, CONF_URL) == front.base_url
        assert suggested(result, CONF_CA_CERT) == ca
        rotated = suggested(result, CONF_REFRESH_TOKEN)
        assert rotated == fleet_api.refresh_token != given[CONF_REFRESH_TOKEN]
        assert not hass.config_entries.async_entries(DOMAIN)
        hass.config_entries.flow.async_abort(result["flow_id"])

    result = await choose(hass, "proxy")
    given = proxy_input(front, fleet_api, "/no/such/selfsigned.pem")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], given)
    assert result["errors"] == {CONF_CA_CERT: "certificate_unreadable"}
    assert not front.requests


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("tesla_token_url")
async def test_proxy_certificate_from_the_add_on_file(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront, tmp_path: Any
) -> None:
    path = tmp_path / "selfsigned.pem"
    path.write_text(front.ca_pem)
    result = await choose(hass, "proxy")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], proxy_input(front, fleet_api, str(path))
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CA_CERT] == str(path)


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("sim_clock", "tesla_token_url")
async def test_proxy_status_probe_asks_tesla(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    front: ProviderFront,
    advance: Advance,
) -> None:
    """The proxy answers /status with 403; the health probe asks Tesla's own /status."""
    entry = await add_proxy(hass, front, fleet_api)
    await set_up(hass, entry)
    front.down = True
    await advance(60)
    await advance(2)
    await advance(2)

    assert "/status" not in front.requests
    assert requests_to(fleet_api, "/status") >= 1


@pytest.mark.parametrize("front", ["teslemetry"], indirect=True)
@pytest.mark.usefixtures("sim_clock")
async def test_reconfigure_moves_the_account_to_another_provider(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront
) -> None:
    """Same entry, same unique id, its cars and options kept: only the way in changes."""
    entry = account_entry(hass, fleet_api, title="Demo Model 3")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await set_up(hass, entry)
    unique_id, vehicles = entry.unique_id, entry.data[CONF_VEHICLES]
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is not None

    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    servers = {Provider.TESLEMETRY: front.base_url}
    with patch.dict("custom_components.tesla_resilient.provider_flow.SERVICE_SERVERS", servers):
        result = await choose(hass, "teslemetry", result["flow_id"])
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_ACCESS_TOKEN: front.token}
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert hass.config_entries.async_entries(DOMAIN) == [entry]
    assert entry.unique_id == unique_id
    assert entry.data == {
        CONF_PROVIDER: "teslemetry",
        CONF_URL: front.base_url,
        CONF_ACCESS_TOKEN: front.token,
        CONF_TESLA_SERVER: fleet_api.base_url,
        CONF_VEHICLES: vehicles,
    }
    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, SIGNING_ISSUE) is None


async def test_other_account_cannot_take_over_an_entry(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, clock: FakeClock
) -> None:
    """A provider token of another account (other cars, another id) is refused."""
    other_car = VirtualCar(vin="5YJ3E7EB0NF000009", clock=clock, wall_clock=clock.wall)
    other = FleetApiSimulator(other_car, clock=clock, wall_clock=clock.wall)
    await other.start()
    service = ProviderFront(ProviderKind.TESSIE, other)
    await service.start()
    try:
        entry = account_entry(hass, fleet_api)
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_VEHICLES: [{"vin": VIN, "name": "Demo"}]}
        )
        result = await entry.start_reconfigure_flow(hass)
        with patch.dict(
            "custom_components.tesla_resilient.provider_flow.SERVICE_SERVERS",
            {Provider.TESSIE: service.base_url},
        ):
            result = await choose(hass, "tessie", result["flow_id"])
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_ACCESS_TOKEN: service.token}
            )
    finally:
        await service.stop()
        await other.stop()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "account_mismatch"
    assert entry.data[CONF_PROVIDER] == "tesla"


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("sim_clock", "tesla_token_url")
async def test_proxy_500_for_an_asleep_car_is_the_cars(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront, car: VirtualCar
) -> None:
    """The proxy's 500 "vehicle is offline or asleep" wakes the car; the cloud stays online."""
    result = await choose(hass, "proxy")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], proxy_input(front, fleet_api)
    )
    await set_up(hass, result["result"])
    car.sleep_now()
    car.locked = False
    await lock_doors(hass)

    assert car.locked
    assert requests_to(fleet_api, "/wake_up") == 1
    status = hass.states.get("sensor.tesla_cloud_status")
    assert status is not None
    assert status.state == "online"


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"response": None, "error": PROXY_CAR_ASLEEP}, Outcome.ASLEEP),
        (
            {
                "response": None,
                "error": "vehicle rejected request: your public key has not been paired "
                "with the vehicle",
            },
            Outcome.VEHICLE_UNAVAILABLE,
        ),
        ({"response": None, "error": "internal server error"}, Outcome.SERVER_ERROR),
    ],
)
def test_proxy_500_read_by_its_body(body: dict[str, Any], outcome: Outcome) -> None:
    assert classify(InternalServerError(body)).outcome is outcome


@pytest.mark.parametrize(
    ("data", "provider"),
    [
        (
            {"auth_implementation": "x", "url": "https://fleet-api.prd.na.vn.cloud.tesla.com"},
            "tesla",
        ),
        ({"url": "https://api.teslemetry.com", "access_token": "t"}, "teslemetry"),
        ({"url": "https://na.teslemetry.com", "access_token": "t"}, "teslemetry"),
        ({"url": "https://api.tessie.com", "access_token": "t"}, "tessie"),
        ({"url": "https://fleet-api.prd.eu.vn.cloud.tesla.com", "access_token": "t"}, "tesla"),
        ({"url": "https://192.168.1.5:4443", "access_token": "t"}, "proxy"),
        ({"url": "http://127.0.0.1:8080", "access_token": "t"}, "tesla"),
        ({"provider": "tessie", "url": "https://example.com"}, "tessie"),
    ],
)
def test_provider_of_older_entries(data: dict[str, Any], provider: str) -> None:
    assert provider_of(data) == provider


@pytest.mark.usefixtures("socket_enabled")
async def test_token_endpoint_unreachable_is_no_auth_failure() -> None:
    stored: list[Any] = []
    async with aiohttp.ClientSession() as session:
        tokens = RefreshingToken(
            session,
            "client",
            "refresh",
            store=stored.append,
            token_url="http://127.0.0.1:9/oauth2/v3/token",
        )
        with pytest.raises(CloudError) as err:
            await tokens.access_token()
    assert not isinstance(err.value, CloudAuthError)
    assert err.value.outcome is Outcome.TRANSPORT
    assert not stored


def cloud_status(hass: HomeAssistant) -> tuple[str, str | None]:
    state = hass.states.get("sensor.tesla_cloud_status")
    assert state is not None
    return state.state, state.attributes["failing_party"]


async def until_party(hass: HomeAssistant, advance: Advance, wanted: str | None) -> str:
    """Advance in 1 s steps until the cloud status names `wanted`; return the status."""
    for _ in range(300):
        status, party = cloud_status(hass)
        if party == wanted and (wanted is not None or status == "online"):
            return status
        await advance(1)
    raise AssertionError(f"failing party not {wanted}: {cloud_status(hass)}")


@pytest.mark.parametrize("front", ["teslemetry", "tessie"], indirect=True)
@pytest.mark.usefixtures("sim_clock")
async def test_failing_party_tells_provider_from_tesla(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront, advance: Advance
) -> None:
    """The provider down while Tesla's /status answers is the provider; Tesla down is Tesla."""
    result = await add_service(hass, front)
    await set_up(hass, result["result"])
    assert cloud_status(hass) == ("online", None)

    front.down = True
    assert await until_party(hass, advance, "provider") == "degraded"
    assert requests_to(fleet_api, "/status") >= 1
    assert "/status" not in front.requests

    front.down = False
    await until_party(hass, advance, None)

    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    assert await until_party(hass, advance, "tesla") in ("degraded", "outage")


async def until_issue(hass: HomeAssistant, advance: Advance, issue_id: str, *, there: bool) -> None:
    """Advance in 10 s steps until the repair `issue_id` is raised (`there`) or gone."""
    for _ in range(60):
        if (ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None) is there:
            return
        await advance(10)
    raise AssertionError(f"{issue_id} {'never raised' if there else 'still there'}")


@pytest.mark.parametrize(
    ("unpaid", "car_only"),
    [("subscription_required", False), ("vehicle_subscription_required", True)],
)
@pytest.mark.parametrize("front", ["teslemetry"], indirect=True)
@pytest.mark.usefixtures("sim_clock")
async def test_a_lapsed_subscription_is_a_repair_not_a_sign_in(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    front: ProviderFront,
    car: VirtualCar,
    advance: Advance,
    unpaid: str,
    car_only: bool,
) -> None:
    """Teslemetry's 402, the account's or one car's: a repair naming Teslemetry and its console,
    the command refused in those words; no sign-in, no outage; renewed, the repair goes."""
    result = await add_service(hass, front)
    entry = result["result"]
    await set_up(hass, entry)
    issue_id = f"payment_required_{entry.entry_id}" + (f"_{VIN}" if car_only else "")
    if car_only:
        front.unsubscribed.add(VIN)
    else:
        front.unpaid = unpaid

    await until_issue(hass, advance, issue_id, there=True)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": f"{entry.title}, {VIN}" if car_only else entry.title,
        "provider": "Teslemetry",
        "reason": unpaid,
        "link": "https://teslemetry.com/console",
    }
    car.locked = False
    with pytest.raises(HomeAssistantError) as err:
        await lock_doors(hass)
    assert err.value.translation_key == "payment_required"
    assert not car.locked
    assert cloud_status(hass) == ("online", None)
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []

    front.unpaid = None
    front.unsubscribed.clear()
    await until_issue(hass, advance, issue_id, there=False)
    await lock_doors(hass)
    assert car.locked


@pytest.mark.usefixtures("sim_clock")
async def test_failing_party_of_tesla_itself_and_of_a_car(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    loaded_entry: MockConfigEntry,
    car: VirtualCar,
    advance: Advance,
) -> None:
    """Tesla's own entry: an outage is Tesla's; a car that cannot be reached is the car's."""
    assert cloud_status(hass) == ("online", None)
    car.sleep_now()
    fleet_api.set_fault(FaultKind.VEHICLE_OFFLINE)
    with pytest.raises(HomeAssistantError):
        await lock_doors(hass)
    assert cloud_status(hass) == ("online", "car")

    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    assert await until_party(hass, advance, "tesla") in ("degraded", "outage")


def device_ids(hass: HomeAssistant, entry_id: str) -> set[str]:
    return {device.id for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)}


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("sim_clock", "tesla_token_url")
async def test_reconfigure_to_the_proxy_keeps_the_bluetooth_key(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront, car: VirtualCar
) -> None:
    """The key subentry and the devices stay; commands then go plain to the proxy."""
    entry = bluetooth_key_entry(hass, fleet_api)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await set_up(hass, entry)
    subentries = dict(entry.subentries)
    devices = {
        device.id
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    }

    result = await entry.start_reconfigure_flow(hass)
    result = await choose(hass, "proxy", result["flow_id"])
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], proxy_input(front, fleet_api)
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PROVIDER] == "proxy"
    assert entry.subentries == subentries
    assert {
        device.id
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    } == devices
    signed = requests_to(fleet_api, "/signed_command")
    car.locked = False
    await lock_doors(hass)
    assert car.locked
    assert requests_to(fleet_api, "/signed_command") == signed


@pytest.mark.parametrize("front", ["tessie"], indirect=True)
@pytest.mark.usefixtures("current_request_with_host", "credentials", "sim_clock")
async def test_reconfigure_from_a_provider_to_signing_in_with_tesla(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    fleet_api: FleetApiSimulator,
    front: ProviderFront,
) -> None:
    result = await add_service(hass, front)
    entry = result["result"]
    await set_up(hass, entry)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    with tesla_servers_at(fleet_api, (fleet_api.base_url,)):
        result = await choose(hass, "oauth", result["flow_id"])
        result = await sign_in(hass, hass_client_no_auth, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert hass.config_entries.async_entries(DOMAIN) == [entry]
    assert entry.data[CONF_PROVIDER] == "tesla"
    assert entry.data[CONF_URL] == fleet_api.base_url
    assert CONF_ACCESS_TOKEN not in entry.data
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("tesla_token_url")
async def test_proxy_refresh_token_tesla_refuses(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront
) -> None:
    result = await choose(hass, "proxy")
    given = {**proxy_input(front, fleet_api), CONF_REFRESH_TOKEN: "NA_not-a-refresh-token"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], given)

    assert result["errors"] == {"base": "refresh_token_refused"}
    assert suggested(result, CONF_REFRESH_TOKEN) == given[CONF_REFRESH_TOKEN]
    assert not front.requests
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_a_bluetooth_only_car_has_no_account_to_reconfigure(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=VIN, title="Demo", data={"vin": VIN, "private_key": "x"}
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "bluetooth_only_reconfigure"
    assert entry.data == {"vin": VIN, "private_key": "x"}


@pytest.mark.parametrize("front", ["proxy"], indirect=True)
@pytest.mark.usefixtures("sim_clock", "tesla_token_url")
async def test_proxy_diagnostics_name_the_provider_and_hold_no_token(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, front: ProviderFront
) -> None:
    entry = await add_proxy(hass, front, fleet_api)
    await set_up(hass, entry)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    text = json.dumps(diagnostics)

    assert diagnostics["cloud"]["provider"] == "proxy"
    assert entry.data[CONF_REFRESH_TOKEN] not in text
    assert entry.data[CONF_ACCESS_TOKEN] not in text


@pytest.mark.parametrize("front", ["teslemetry"], indirect=True)
async def test_an_account_already_added_another_way_is_not_added_twice(
    hass: HomeAssistant, front: ProviderFront, loaded_entry: MockConfigEntry
) -> None:
    """Teslemetry names the account by its user id, Tesla's token by its subject: the cars tell."""
    result = await add_service(hass, front)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert hass.config_entries.async_entries(DOMAIN) == [loaded_entry]
