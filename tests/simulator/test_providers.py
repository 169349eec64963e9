"""The provider fronts answer as the providers they play: TLS, tokens, errors, outages."""

from __future__ import annotations

import ssl
from collections.abc import AsyncGenerator

import aiohttp
import pytest

from simulator.fleet_api import FleetApiSimulator
from simulator.providers import PROXY_CAR_ASLEEP, PROXY_NO_TOKEN, ProviderFront, ProviderKind
from simulator.vehicle import VirtualCar


@pytest.fixture
async def proxy(fleet_api: FleetApiSimulator) -> AsyncGenerator[ProviderFront]:
    front = ProviderFront(ProviderKind.PROXY, fleet_api)
    await front.start()
    try:
        yield front
    finally:
        await front.stop()


@pytest.fixture
async def teslemetry(fleet_api: FleetApiSimulator) -> AsyncGenerator[ProviderFront]:
    front = ProviderFront(ProviderKind.TESLEMETRY, fleet_api)
    await front.start()
    try:
        yield front
    finally:
        await front.stop()


def trusting(front: ProviderFront) -> aiohttp.ClientSession:
    context = ssl.create_default_context(cadata=front.ca_pem)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


async def test_proxy_serves_tls_its_ca_verifies(proxy: ProviderFront) -> None:
    assert proxy.base_url.startswith("https://")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"{proxy.base_url}/status")
    async with trusting(proxy) as session, session.get(f"{proxy.base_url}/status") as answer:
        assert answer.status == 403
        assert (await answer.json())["error"] == PROXY_NO_TOKEN


async def test_proxy_forwards_teslas_token_and_signs_commands(
    proxy: ProviderFront, fleet_api: FleetApiSimulator, car: VirtualCar
) -> None:
    headers = {"Authorization": f"Bearer {fleet_api.access_token}"}
    command = f"{proxy.base_url}/api/1/vehicles/{car.vin}/command/door_unlock"
    async with trusting(proxy) as session:
        async with session.get(f"{proxy.base_url}/api/1/products", headers=headers) as answer:
            assert answer.status == 200
        async with session.post(command, headers={"Authorization": "Bearer x"}) as answer:
            assert answer.status == 401
        async with session.post(command, headers=headers) as answer:
            assert (await answer.json())["response"]["result"] is True
        assert not car.locked
        car.sleep_now()
        async with session.post(command, headers=headers) as answer:
            assert answer.status == 500
            assert (await answer.json())["error"] == PROXY_CAR_ASLEEP


async def test_service_token_and_its_own_outage(
    teslemetry: ProviderFront, fleet_api: FleetApiSimulator
) -> None:
    products = f"{teslemetry.base_url}/api/1/products"
    async with aiohttp.ClientSession() as session:
        async with session.get(products, headers={"Authorization": "Bearer x"}) as answer:
            assert answer.status == 401
            assert (await answer.json())["error"] == "invalid_token"
        async with session.get(f"{teslemetry.base_url}/status") as answer:
            assert answer.status == 401
            assert (await answer.json())["error"] == "missing_token"
        headers = {"Authorization": f"Bearer {teslemetry.token}"}
        async with session.get(products, headers=headers) as answer:
            assert answer.status == 200
        teslemetry.down = True
        async with session.get(products, headers=headers) as answer:
            assert answer.status == 503
            assert answer.content_type == "text/html"
        async with session.get(f"{fleet_api.base_url}/status") as answer:
            assert await answer.text() == "ok"
