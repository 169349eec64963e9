"""Build the demo's Home Assistant configuration directory: files, links, user and onboarding."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from homeassistant.auth import auth_manager_from_config
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.auth.providers.homeassistant import HassAuthProvider
from homeassistant.components.lovelace.dashboard import (
    CONFIG_STORAGE_KEY_DEFAULT as LOVELACE_STORAGE_KEY,
)
from homeassistant.components.lovelace.dashboard import (
    CONFIG_STORAGE_VERSION as LOVELACE_STORAGE_VERSION,
)
from homeassistant.components.onboarding import STORAGE_KEY as ONBOARDING_STORAGE_KEY
from homeassistant.components.onboarding import STORAGE_VERSION as ONBOARDING_STORAGE_VERSION
from homeassistant.components.onboarding import OnboardingStorage
from homeassistant.components.onboarding.const import STEPS
from homeassistant.core import HomeAssistant
from homeassistant.core_config import ConfigSource
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from demo.dashboard import dashboard

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = Path(__file__).resolve().parent / "config"
CONFIG_DIR = REPO_ROOT / ".demo"

ALWAYS_REFRESHED = frozenset({"configuration.yaml"})
"""Template files rewritten at every start; the others are copied once, then left to the user."""

CUSTOM_INTEGRATIONS = {
    "tesla_resilient": REPO_ROOT / "custom_components" / "tesla_resilient",
    "tesla_simulator": REPO_ROOT / "simulator" / "ha" / "tesla_simulator",
}
BLUEPRINTS = {
    Path("automation", name): REPO_ROOT / "blueprints" / "automation" / name
    for name in ("tesla_resilient",)
}


@dataclass(frozen=True)
class Login:
    """The demo's owner account."""

    name: str = "Demo"
    username: str = "demo"
    password: str = "demo"


@dataclass(frozen=True)
class Home:
    """Where the demo's home is: next to the simulated car's parking spot, in Amsterdam."""

    location_name: str = "Tesla Resilient demo"
    latitude: float = 52.3731
    longitude: float = 4.8922
    elevation: int = 0
    time_zone: str = "Europe/Amsterdam"
    country: str = "NL"
    currency: str = "EUR"
    language: str = "en"
    unit_system: str = "metric"


LOGIN = Login()
HOME = Home()


def build_config_dir(config_dir: Path = CONFIG_DIR) -> None:
    """Create or refresh the configuration directory from the template and link the integrations."""
    config_dir.mkdir(parents=True, exist_ok=True)
    for source in sorted(TEMPLATE_DIR.iterdir()):
        target = config_dir / source.name
        if source.is_file() and (source.name in ALWAYS_REFRESHED or not target.exists()):
            shutil.copyfile(source, target)

    custom_components = config_dir / "custom_components"
    custom_components.mkdir(exist_ok=True)
    # A regular package here wins over the repository's own custom_components on sys.path.
    (custom_components / "__init__.py").touch()
    for domain, source in CUSTOM_INTEGRATIONS.items():
        _link(custom_components / domain, source)

    for relative, source in BLUEPRINTS.items():
        target = config_dir / "blueprints" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _link(target, source)


def _link(link: Path, source: Path) -> None:
    """Point `link` at `source` with a relative symlink, replacing whatever was there."""
    relative = Path(os.path.relpath(source, link.parent))
    if link.is_symlink():
        if Path(os.readlink(link)) == relative:
            return
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    elif link.exists():
        link.unlink()
    link.symlink_to(relative, target_is_directory=True)


async def async_prepare_storage(
    config_dir: Path = CONFIG_DIR, login: Login = LOGIN, home: Home = HOME
) -> None:
    """Write the owner account, onboarding, the home's location and the dashboard to `.storage`.

    Runs Home Assistant's own auth, onboarding and core config code against the directory, so
    the files have exactly the formats and versions this Home Assistant reads; starting and
    stopping that instance flushes its delayed writes. Existing users, finished onboarding, a
    location set in the UI and a dashboard edited in the UI are kept.
    """
    hass = HomeAssistant(str(config_dir))
    try:
        await ir.async_load(hass)
        await hass.config.async_load()
        hass.auth = await auth_manager_from_config(hass, [{"type": "homeassistant"}], [])
        await _async_ensure_owner(hass, login)
        await _async_finish_onboarding(hass)
        await _async_ensure_dashboard(hass)
        if hass.config.config_source is ConfigSource.DEFAULT:
            await hass.config.async_update(
                location_name=home.location_name,
                latitude=home.latitude,
                longitude=home.longitude,
                elevation=home.elevation,
                time_zone=home.time_zone,
                country=home.country,
                currency=home.currency,
                language=home.language,
                unit_system=home.unit_system,
            )
        await hass.async_start()
    finally:
        await hass.async_stop()


async def _async_ensure_owner(hass: HomeAssistant, login: Login) -> None:
    provider = cast(HassAuthProvider, hass.auth.auth_providers[0])
    await provider.async_initialize()
    assert provider.data is not None
    if any(user["username"] == login.username for user in provider.data.users):
        return
    user = await hass.auth.async_create_user(login.name, group_ids=[GROUP_ID_ADMIN])
    await provider.async_add_auth(login.username, login.password)
    credentials = await provider.async_get_or_create_credentials({"username": login.username})
    await hass.auth.async_link_user(user, credentials)


async def _async_finish_onboarding(hass: HomeAssistant) -> None:
    store = OnboardingStorage(
        hass, ONBOARDING_STORAGE_VERSION, ONBOARDING_STORAGE_KEY, private=True
    )
    done = (await store.async_load() or {"done": []})["done"]
    if set(done) != set(STEPS):
        await store.async_save({"done": list(dict.fromkeys([*done, *STEPS]))})


async def _async_ensure_dashboard(hass: HomeAssistant) -> None:
    store: Store[dict[str, Any]] = Store(hass, LOVELACE_STORAGE_VERSION, LOVELACE_STORAGE_KEY)
    stored = await store.async_load()
    if not stored or not stored.get("config"):
        await store.async_save({"config": dashboard()})
