"""The demo's configuration directory, read back with Home Assistant's own code."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from homeassistant.auth import auth_manager_from_config
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.auth.providers.homeassistant import HassAuthProvider, InvalidAuth
from homeassistant.components import onboarding
from homeassistant.components.lovelace.dashboard import LovelaceStorage
from homeassistant.components.onboarding.const import STEPS
from homeassistant.config import load_yaml_config_file
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify
from homeassistant.util.unit_system import METRIC_SYSTEM

from custom_components.tesla_resilient.pairing import default_title
from demo import dashboard as board
from demo.__main__ import home_assistant_command, home_assistant_env, parse_args, port_in_use
from demo.prepare import (
    CONFIG_DIR,
    HOME,
    LOGIN,
    REPO_ROOT,
    TEMPLATE_DIR,
    async_prepare_storage,
    build_config_dir,
)
from simulator.ha.tesla_simulator.const import NEARBY_VIN


@pytest.fixture
def auto_enable_custom_integrations() -> None:
    """Run without a test instance of Home Assistant, whose storage never reaches the disk."""


@pytest.fixture(autouse=True)
def restore_time_zone() -> Generator[None]:
    """Loading the demo's core config sets the process-wide time zone; put it back."""
    yield
    dt_util.set_default_time_zone(dt.UTC)


@asynccontextmanager
async def home_assistant(config_dir: Path) -> AsyncGenerator[HomeAssistant]:
    """A bare Home Assistant on the directory: storage and auth only, no server."""
    hass = HomeAssistant(str(config_dir))
    try:
        yield hass
    finally:
        await hass.async_stop(force=True)


async def hass_provider(hass: HomeAssistant) -> HassAuthProvider:
    hass.auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
    provider = cast(HassAuthProvider, hass.auth.auth_providers[0])
    await provider.async_initialize()
    return provider


@pytest.fixture
async def prepared(tmp_path: Path) -> Path:
    build_config_dir(tmp_path)
    await async_prepare_storage(tmp_path)
    written = {path.name for path in (tmp_path / ".storage").iterdir()}
    assert {"auth", "auth_provider.homeassistant", "onboarding", "core.config"} <= written
    return tmp_path


async def test_auth_provider_accepts_demo_demo_for_the_admin_owner(prepared: Path) -> None:
    async with home_assistant(prepared) as hass:
        provider = await hass_provider(hass)

        await provider.async_validate_login(LOGIN.username, LOGIN.password)
        with pytest.raises(InvalidAuth):
            await provider.async_validate_login(LOGIN.username, "wrong")

        credentials = await provider.async_get_or_create_credentials({"username": LOGIN.username})
        assert not credentials.is_new
        user = await hass.auth.async_get_user_by_credentials(credentials)
        assert user is not None
        assert user.is_owner
        assert user.is_admin
        assert [group.id for group in user.groups] == [GROUP_ID_ADMIN]


async def test_onboarding_is_done(prepared: Path) -> None:
    async with home_assistant(prepared) as hass:
        hass.auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
        store = onboarding.OnboardingStorage(
            hass, onboarding.STORAGE_VERSION, onboarding.STORAGE_KEY, private=True
        )
        data = await store.async_load()
        assert data is not None
        assert set(data["done"]) == set(STEPS)

        assert await onboarding.async_setup(hass, {})
        assert onboarding.async_is_onboarded(hass)
        assert onboarding.DOMAIN not in hass.data


async def test_core_config_has_the_home_in_metric(prepared: Path) -> None:
    async with home_assistant(prepared) as hass:
        await hass.config.async_load()

        assert (hass.config.latitude, hass.config.longitude) == (HOME.latitude, HOME.longitude)
        assert hass.config.units is METRIC_SYSTEM
        assert hass.config.time_zone == HOME.time_zone
        assert hass.config.country == HOME.country
        assert hass.config.location_name == HOME.location_name


async def test_preparing_again_keeps_users_and_settings(prepared: Path) -> None:
    async with home_assistant(prepared) as hass:
        await hass.config.async_load()
        await hass.config.async_update(latitude=40.0, longitude=-3.7)

    await async_prepare_storage(prepared)

    async with home_assistant(prepared) as hass:
        await hass.config.async_load()
        provider = await hass_provider(hass)
        assert provider.data is not None
        assert [user["username"] for user in provider.data.users] == [LOGIN.username]
        assert len(await hass.auth.async_get_users()) == 1
        assert (hass.config.latitude, hass.config.longitude) == (40.0, -3.7)


def test_config_dir_has_the_template_and_both_integrations(tmp_path: Path) -> None:
    build_config_dir(tmp_path)

    config = load_yaml_config_file(str(tmp_path / "configuration.yaml"))
    assert "default_config" not in config
    assert config["http"]["server_host"] == "127.0.0.1"
    assert config["tesla_simulator"] == {"port": 8321, "workshop_port": 8322}
    assert {"frontend", "config", "bluetooth", "history", "logbook", "lovelace"} <= set(config)

    custom = tmp_path / "custom_components"
    assert (custom / "__init__.py").is_file()
    assert (custom / "tesla_resilient").resolve() == REPO_ROOT / "custom_components" / (
        "tesla_resilient"
    )
    assert (custom / "tesla_simulator" / "manifest.json").resolve() == (
        REPO_ROOT / "simulator" / "ha" / "tesla_simulator" / "manifest.json"
    )
    assert (tmp_path / "blueprints" / "automation" / "tesla_resilient").is_dir()


def test_rebuilding_refreshes_configuration_but_keeps_user_files(tmp_path: Path) -> None:
    build_config_dir(tmp_path)
    (tmp_path / "configuration.yaml").write_text("stale: true\n")
    (tmp_path / "automations.yaml").write_text("- id: mine\n")
    (tmp_path / "custom_components" / "tesla_simulator").unlink()
    (tmp_path / "custom_components" / "tesla_simulator").mkdir()

    build_config_dir(tmp_path)

    assert (tmp_path / "configuration.yaml").read_text() == (
        TEMPLATE_DIR / "configuration.yaml"
    ).read_text()
    assert (tmp_path / "automations.yaml").read_text() == "- id: mine\n"
    assert (tmp_path / "custom_components" / "tesla_simulator").is_symlink()


def test_home_assistant_runs_on_the_demo_config_with_the_repository_importable(
    tmp_path: Path,
) -> None:
    command = home_assistant_command(tmp_path)
    env = home_assistant_env()

    assert command[1:] == ["-m", "homeassistant", "--config", str(tmp_path), "--skip-pip"]
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(REPO_ROOT)


def test_port_in_use_sees_a_listener(socket_enabled: None) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_in_use(port)
    assert not port_in_use(port)


def _entities(config: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for view in config["views"]:
        for section in view["sections"]:
            for card in section["cards"]:
                if "entity" in card:
                    found.append(card["entity"])
                found.extend(row["entity"] for row in card.get("entities", []))
    return found


async def _dashboard(config_dir: Path) -> dict[str, Any]:
    async with home_assistant(config_dir) as hass:
        config: dict[str, Any] = await LovelaceStorage(hass, None).async_load(False)
        return config


async def test_default_dashboard_tells_the_story_from_left_to_right(prepared: Path) -> None:
    config = await _dashboard(prepared)

    assert config == board.dashboard()
    (view,) = config["views"]
    assert view["type"] == "sections"
    headings = [section["cards"][0]["heading"] for section in view["sections"]]
    assert headings == [
        "1 · Simulated world",
        "2 · Tesla cloud",
        "3 · Bluetooth",
        "4 · Demo Model 3",
        "5 · Nearby Model Y, Bluetooth only",
    ]
    entities = _entities(config)
    assert entities.index(board.CLOUD_OUTAGE) < entities.index(board.TESLA_CLOUD)
    assert entities.index(board.TESLA_CLOUD) < entities.index(board.LAST_COMMAND_ROUTE)
    assert entities.index(board.LAST_COMMAND_ROUTE) < entities.index(board.DOOR_LOCK)
    assert {
        board.TESLA_CLOUD_STATUS,
        board.BLUETOOTH_CONNECTION,
        board.ESTIMATED_CLOUD_COST,
        board.CLIMATE,
        board.CHARGE_LIMIT,
        board.TRUNK,
        board.HONK,
        board.BATTERY,
        board.BATTERY_RANGE,
        board.CHARGING,
        board.OUTAGE_KIND,
        board.IN_BLUETOOTH_RANGE,
        board.ASLEEP,
        board.TAP_KEY_CARD,
        board.NEARBY_TAP_KEY_CARD,
        board.NEARBY_IN_BLUETOOTH_RANGE,
        board.NEARBY_DOOR_LOCK,
        board.NEARBY_BLUETOOTH_CONNECTION,
        board.NEARBY_LAST_COMMAND_ROUTE,
    } <= set(entities)


def _card_entities(cards: list[dict[str, Any]]) -> list[str]:
    return _entities({"views": [{"sections": [{"cards": cards}]}]})


def test_the_nearby_cars_section_names_its_vin_and_shows_its_lock_once_paired() -> None:
    config = board.dashboard()
    *earlier, nearby = config["views"][0]["sections"]
    cards: list[dict[str, Any]] = nearby["cards"]
    once_paired = [card for card in cards if "visibility" in card]
    always = [card for card in cards if "visibility" not in card]

    assert board.NEARBY_VIN == NEARBY_VIN
    assert any(NEARBY_VIN in card.get("content", "") for card in always)
    assert _card_entities(always) == [board.NEARBY_TAP_KEY_CARD, board.NEARBY_IN_BLUETOOTH_RANGE]
    assert _card_entities(once_paired) == [
        board.NEARBY_DOOR_LOCK,
        board.NEARBY_BLUETOOTH_CONNECTION,
        board.NEARBY_LAST_COMMAND_ROUTE,
    ]
    for card in once_paired:
        assert card["visibility"] == [
            {
                "condition": "state",
                "entity": board.NEARBY_BLUETOOTH_CONNECTION,
                "state_not": "unavailable",
            }
        ]
    assert not any("visibility" in card for section in earlier for card in section["cards"])
    assert slugify(default_title(NEARBY_VIN)) == board.NEARBY_CAR


async def test_preparing_again_keeps_a_dashboard_edited_in_the_ui(prepared: Path) -> None:
    edited = {"views": [{"title": "Mine", "cards": []}]}
    async with home_assistant(prepared) as hass:
        await LovelaceStorage(hass, None).async_save(edited)

    await async_prepare_storage(prepared)

    assert await _dashboard(prepared) == edited


def test_the_configuration_directory_can_be_chosen(tmp_path: Path) -> None:
    assert parse_args([]).config_dir == CONFIG_DIR
    assert parse_args(["--config-dir", str(tmp_path)]).config_dir == tmp_path
