"""The simulated day with Tesla Resilient: a parked car in Bluetooth range, awake two hours."""

from __future__ import annotations

from bench.day import simulate_day
from bench.figures import Figure, monthly_cost
from bench.resilient import loaded_account
from bench.rig import Context, Radio, Rig

PRODUCES = (
    "billable_requests_24h",
    "polling_wakes_24h",
    "cost_usd_30d",
    "cost_after_credit_usd_30d",
)
NEEDS_BLUETOOTH = True


async def run(ctx: Context) -> list[Figure]:
    """Set up an OAuth account with a paired Bluetooth key, live one day, and count the cost."""
    async with Rig(ctx) as rig, Radio(rig) as radio, loaded_account(rig, radio) as entry:
        setup = rig.cloud.billing.billable
        round_trips, handshakes = radio.proxy.round_trips, radio.car.handshakes
        day = await simulate_day(rig.time, rig.car, rig.cloud, entry.entry_id)
        bluetooth = {
            "round_trips": radio.proxy.round_trips - round_trips,
            "handshakes": radio.car.handshakes - handshakes,
        }
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
