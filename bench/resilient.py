"""Tesla Resilient as the scenarios run it: an OAuth account whose car has a Bluetooth key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_ADDRESS,
    CONF_URL,
    SERVICE_LOCK,
    SERVICE_UNLOCK,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from bench.rig import Radio, Rig, token_subject

DOMAIN = "tesla_resilient"
CLOUD_ENTITY = "binary_sensor.tesla_cloud"
"""The Tesla cloud connectivity entity: off during an outage."""

STATUS_ENTITY = "sensor.tesla_cloud_status"
"""The Tesla cloud status: online, degraded, outage, auth_failed, rate_limited."""

READY_LIMIT_S = 150.0
"""How long after setup the car's lock may take to show a state: a car set up out of Bluetooth
range that Home Assistant still lists as heard gets its first cloud read from the next
heartbeat, up to a minute later."""

TOKEN_URL_TARGET = "custom_components.tesla_resilient.application_credentials.TOKEN_URL"


def account_entry(rig: Rig, radio: Radio, options: Mapping[str, Any] | None = None) -> Any:
    """An OAuth account entry with a Bluetooth key subentry for the car, added to Home Assistant.

    The key is generated as pairing does and put on the car's key list.
    """
    from custom_components.tesla_resilient.const import (  # noqa: PLC0415
        CONF_CAR_PUBLIC_KEY,
        CONF_PRIVATE_KEY,
        CONF_VIN,
        SUBENTRY_VEHICLE_KEY,
    )
    from custom_components.tesla_resilient.keys import (  # noqa: PLC0415
        generate_private_key,
        public_key_bytes,
    )

    private_key = generate_private_key()
    radio.car.add_known_key(public_key_bytes(private_key))
    token = rig.oauth_token()
    key = ConfigSubentryData(
        data={
            CONF_VIN: rig.car.vin,
            CONF_PRIVATE_KEY: private_key,
            CONF_CAR_PUBLIC_KEY: radio.car.public_key.hex(),
            CONF_ADDRESS: radio.address,
        },
        subentry_type=SUBENTRY_VEHICLE_KEY,
        title=rig.car.display_name,
        unique_id=rig.car.vin,
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=rig.car.display_name,
        unique_id=token_subject(token["access_token"]),
        data={"auth_implementation": DOMAIN, "token": token, CONF_URL: rig.cloud.base_url},
        options=dict(options or {}),
        subentries_data=[key],
    )
    entry.add_to_hass(rig.hass)
    return entry


@asynccontextmanager
async def loaded_account(
    rig: Rig, radio: Radio, options: Mapping[str, Any] | None = None
) -> AsyncIterator[Any]:
    """Set up an account entry with a Bluetooth key on simulated time; unload it afterwards.

    The integration's OAuth token endpoint points at the simulated cloud throughout, so token
    refreshes reach it.
    """
    hass = rig.hass
    await rig.import_credential(DOMAIN)
    entry = account_entry(rig, radio, options)
    with patch(TOKEN_URL_TARGET, rig.token_url):
        await rig.time.run(hass.config_entries.async_setup(entry.entry_id))
        if entry.state is not ConfigEntryState.LOADED:
            raise RuntimeError(f"{DOMAIN} did not load: {entry.state} {entry.reason}")
        await until_lock_shown(rig)
        try:
            yield entry
        finally:
            if entry.state is ConfigEntryState.LOADED:
                await rig.time.run(hass.config_entries.async_unload(entry.entry_id))


async def until_lock_shown(
    rig: Rig, since: float | None = None, *, step_s: float = 0.25, limit_s: float = READY_LIMIT_S
) -> float:
    """Wait until the car's lock shows a state, as a user would before tapping it.

    Setup does not wait for the first Bluetooth read, and Home Assistant skips an unavailable
    entity's actions, so a scenario acts once the entity it acts on is there to act on. Returns
    the simulated seconds from `since` (default: now) until then.
    """
    started = rig.time.now() if since is None else since
    lock = lock_entity(rig.hass, rig.car.vin)
    while (state := rig.hass.states.get(lock)) is None or state.state == STATE_UNAVAILABLE:
        if rig.time.now() - started >= limit_s:
            raise RuntimeError(f"{lock} still unavailable {limit_s:g} s after setup")
        await rig.time.advance(step_s)
    return rig.time.now() - started


def lock_entity(hass: HomeAssistant, vin: str) -> str:
    """The entity id of the car's door lock."""
    found = er.async_get(hass).async_get_entity_id("lock", DOMAIN, f"{vin}-doors")
    if found is None:
        raise LookupError(f"{DOMAIN} registered no door lock for {vin}")
    return found


async def lock_call(hass: HomeAssistant, entity_id: str, lock: bool) -> None:
    """Lock or unlock through the lock entity, as an automation or the dashboard does."""
    await hass.services.async_call(
        "lock",
        SERVICE_LOCK if lock else SERVICE_UNLOCK,
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
    )


class EntityWatch:
    """Every state an entity takes, with the loop time it took it; awaitable per state."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Start listening to `entity_id`, which must exist."""
        if hass.states.get(entity_id) is None:
            raise LookupError(f"{entity_id} does not exist")
        self.hass = hass
        self.entity_id = entity_id
        self.changes: list[tuple[float, str]] = []
        self._waiters: list[tuple[str, asyncio.Future[float]]] = []
        self._unsubscribe = async_track_state_change_event(hass, entity_id, self._changed)

    @property
    def state(self) -> str | None:
        """The entity's current state."""
        found = self.hass.states.get(self.entity_id)
        return None if found is None else found.state

    def turns(self, state: str) -> asyncio.Future[float]:
        """A future of the loop time at which the entity next changes to `state`."""
        future: asyncio.Future[float] = self.hass.loop.create_future()
        self._waiters.append((state, future))
        return future

    def count(self, state: str) -> int:
        """How many times the entity changed to `state` while watched."""
        return sum(1 for _, new in self.changes if new == state)

    @callback
    def _changed(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        old = event.data["old_state"]
        if new is None or (old is not None and old.state == new.state):
            return
        at = self.hass.loop.time()
        self.changes.append((at, new.state))
        waiting = []
        for state, future in self._waiters:
            if state == new.state and not future.done():
                future.set_result(at)
            elif not future.done():
                waiting.append((state, future))
        self._waiters = waiting

    def close(self) -> None:
        """Stop listening."""
        self._unsubscribe()
        for _, future in self._waiters:
            future.cancel()
