"""The simulated day with Home Assistant's own tesla_fleet integration, pointed at the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)
from tesla_fleet_api.const import SERVERS

from bench.day import simulate_day
from bench.figures import Figure, monthly_cost
from bench.rig import Context, Rig, token_subject

DOMAIN = "tesla_fleet"
PRODUCES = (
    "baseline_billable_requests_24h",
    "baseline_cost_usd_30d",
    "baseline_cost_after_credit_usd_30d",
)
NEEDS_BLUETOOTH = False


@contextmanager
def pointed_at(rig: Rig) -> Iterator[None]:
    """Send tesla_fleet's API calls and OAuth token requests to the simulator, nothing else.

    The library picks its server from SERVERS by the region in the token; the integration's
    OAuth implementation reads its endpoints from its own module.
    """
    with ExitStack() as stack:
        stack.enter_context(patch.dict(SERVERS, dict.fromkeys(SERVERS, rig.cloud.base_url)))
        stack.enter_context(
            patch("homeassistant.components.tesla_fleet.oauth.TOKEN_URL", rig.token_url)
        )
        stack.enter_context(
            patch("homeassistant.components.tesla_fleet.oauth.AUTHORIZE_URL", rig.authorize_url)
        )
        yield


async def run(ctx: Context) -> list[Figure]:
    """Set up tesla_fleet against the simulator, live one day, and count what it billed."""
    hass = ctx.hass
    async with Rig(ctx) as rig:
        await rig.import_credential(DOMAIN)
        token = rig.oauth_token()
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=token_subject(token["access_token"]),
            unique_id=token_subject(token["access_token"]),
            data={"auth_implementation": DOMAIN, "token": token},
        )
        entry.add_to_hass(hass)
        with pointed_at(rig):
            await rig.time.run(hass.config_entries.async_setup(entry.entry_id))
            if entry.state is not ConfigEntryState.LOADED:
                raise RuntimeError(f"tesla_fleet did not load: {entry.state} {entry.reason}")
            setup = rig.cloud.billing.billable
            day = await simulate_day(rig.time, rig.car, rig.cloud, entry.entry_id)
            await rig.time.run(hass.config_entries.async_unload(entry.entry_id))
    month, after_credit = monthly_cost(day.cost_usd)
    detail = {**day.detail(), "billable_during_setup": setup}
    return [
        Figure("baseline_billable_requests_24h", day.billable, True, detail=detail),
        Figure("baseline_cost_usd_30d", month, True, detail={"cost_usd_day": day.cost_usd}),
        Figure("baseline_cost_after_credit_usd_30d", after_credit, True),
    ]
