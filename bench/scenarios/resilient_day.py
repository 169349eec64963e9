"""The simulated day with Tesla Resilient: a parked car in Bluetooth range, awake two hours."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_ADDRESS, CONF_URL
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from bench.day import simulate_day
from bench.figures import Figure, monthly_cost
from bench.rig import Context, Radio, Rig, token_subject

DOMAIN = "tesla_resilient"
PRODUCES = (
    "billable_requests_24h",
    "polling_wakes_24h",
    "cost_usd_30d",
    "cost_after_credit_usd_30d",
)
NEEDS_BLUETOOTH = True


async def run(ctx: Context) -> list[Figure]:
    """Set up an OAuth account with a paired Bluetooth key, live one day, and count the cost."""
    from custom_components.tesla_resilient.ble import (  # noqa: PLC0415
        generate_private_key,
        public_key_bytes,
    )
    from custom_components.tesla_resilient.pairing import (  # noqa: PLC0415
        CONF_CAR_PUBLIC_KEY,
        CONF_PRIVATE_KEY,
        CONF_VIN,
        SUBENTRY_VEHICLE_KEY,
    )

    hass = ctx.hass
    async with Rig(ctx) as rig, Radio(rig) as radio:
        private_key = generate_private_key()
        radio.car.add_known_key(public_key_bytes(private_key))
        await rig.import_credential(DOMAIN)
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
            subentries_data=[key],
        )
        entry.add_to_hass(hass)
        with patch(
            "custom_components.tesla_resilient.application_credentials.TOKEN_URL", rig.token_url
        ):
            await rig.time.run(hass.config_entries.async_setup(entry.entry_id))
            if entry.state is not ConfigEntryState.LOADED:
                raise RuntimeError(f"{DOMAIN} did not load: {entry.state} {entry.reason}")
            setup = rig.cloud.billing.billable
            round_trips, handshakes = radio.proxy.round_trips, radio.car.handshakes
            day = await simulate_day(rig.time, rig.car, rig.cloud, entry.entry_id)
            bluetooth = {
                "round_trips": radio.proxy.round_trips - round_trips,
                "handshakes": radio.car.handshakes - handshakes,
            }
            await rig.time.run(hass.config_entries.async_unload(entry.entry_id))
    month, after_credit = monthly_cost(day.cost_usd)
    detail = {**day.detail(), "billable_during_setup": setup, "bluetooth": bluetooth}
    return [
        Figure("billable_requests_24h", day.billable, True, detail=detail),
        Figure(
            "polling_wakes_24h",
            day.polling_wakes,
            True,
            detail={"car_wakes_by_cause": day.wakes_by_link},
        ),
        Figure("cost_usd_30d", round(month, 4), True, detail={"cost_usd_day": day.cost_usd}),
        Figure("cost_after_credit_usd_30d", round(after_credit, 4), True),
    ]
