"""The simulated days side by side: Tesla Resilient and Home Assistant's tesla_fleet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)
from tesla_fleet_api.const import SERVERS

from bench.day import NAME_BY_MODEL, PLANS, VIN_BY_MODEL, DayKind, DayResult, simulate_day
from bench.figures import Figure, text_table
from bench.resilient import loaded_account
from bench.rig import Context, Radio, Rig, token_subject
from simulator.vehicle import SleepModel

RESILIENT = "tesla_resilient"
CORE = "tesla_fleet"

VARIANTS: tuple[tuple[DayKind, SleepModel], ...] = tuple(
    (kind, model) for kind in DayKind for model in SleepModel
)
"""Every day under every sleep model."""


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One integration's day of one kind, under one sleep model."""

    integration: str
    kind: DayKind
    model: SleepModel
    result: DayResult
    billable_during_setup: int

    def as_json(self) -> dict[str, Any]:
        """The day as bench/last-run.json stores it."""
        return {
            "integration": self.integration,
            "day": str(self.kind),
            "sleep_model": str(self.model),
            "vin": VIN_BY_MODEL[self.model],
            "billable": self.result.billable,
            "requests": self.result.requests,
            "polling_wakes": self.result.polling_wakes,
            "billable_during_setup": self.billable_during_setup,
            **self.result.detail(),
        }


def variant_id(variant: tuple[DayKind, SleepModel]) -> str:
    """How a day appears in test ids and scenario names."""
    kind, model = variant
    return f"{kind}-{model}"


def _rig(ctx: Context, model: SleepModel) -> Rig:
    return Rig(ctx, vin=VIN_BY_MODEL[model], name=NAME_BY_MODEL[model])


async def resilient_day(ctx: Context, kind: DayKind, model: SleepModel) -> DayRecord:
    """Tesla Resilient with a paired Bluetooth key (default options) living one day."""
    plan = PLANS[kind]
    async with _rig(ctx, model) as rig, Radio(rig) as radio:
        # a car that starts the day out of range was set up out of range too
        radio.proxy.in_range = plan.in_range(0.0)
        async with loaded_account(rig, radio) as entry:
            setup = rig.cloud.billing.billable
            round_trips, handshakes = radio.proxy.round_trips, radio.car.handshakes
            result = await simulate_day(
                rig.time, rig.car, rig.cloud, entry.entry_id, plan=plan, proxy=radio.proxy
            )
            result.events.append(
                f"bluetooth: {radio.proxy.round_trips - round_trips} round trips, "
                f"{radio.car.handshakes - handshakes} handshakes"
            )
    return DayRecord(RESILIENT, kind, model, result, setup)


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


async def core_day(ctx: Context, kind: DayKind, model: SleepModel) -> DayRecord:
    """Home Assistant's own tesla_fleet, set up for real against the simulator, living one day.

    tesla_fleet has no Bluetooth, so where the car is does not change what it does; the
    commute's events do.
    """
    hass = ctx.hass
    async with _rig(ctx, model) as rig:
        await rig.import_credential(CORE)
        token = rig.oauth_token()
        entry = MockConfigEntry(
            domain=CORE,
            title=token_subject(token["access_token"]),
            unique_id=token_subject(token["access_token"]),
            data={"auth_implementation": CORE, "token": token},
        )
        entry.add_to_hass(hass)
        with pointed_at(rig):
            await rig.time.run(hass.config_entries.async_setup(entry.entry_id))
            if entry.state is not ConfigEntryState.LOADED:
                raise RuntimeError(f"{CORE} did not load: {entry.state} {entry.reason}")
            setup = rig.cloud.billing.billable
            result = await simulate_day(
                rig.time, rig.car, rig.cloud, entry.entry_id, plan=PLANS[kind]
            )
            await rig.time.run(hass.config_entries.async_unload(entry.entry_id))
    return DayRecord(CORE, kind, model, result, setup)


FREE_ENDPOINTS = (
    "free: the vehicle state call (Tesla's best practices have apps check connectivity with it "
    'before "paid requests such as vehicle data, commands, or wakes"), /status and OAuth token '
    "refreshes (no application token to bill); every other answer below 500 is billed by its "
    "endpoint's category, 5xx never (developer.tesla.com/docs/fleet-api/billing-and-limits); "
    "the vehicle list and the user endpoints, whose category the sources do not give, as data"
)


def _find(days: list[DayRecord], integration: str, kind: DayKind, model: SleepModel) -> DayRecord:
    for record in days:
        if (record.integration, record.kind, record.model) == (integration, kind, model):
            return record
    raise LookupError(f"no {integration} {kind} day under {model}")


def day_figures(days: list[DayRecord]) -> list[Figure]:
    """The figures the days measure, from every day that was lived (missing ones are left out)."""
    figures: list[Figure] = []
    ours = [record for record in days if record.integration == RESILIENT]
    garage = [record for record in ours if record.kind is DayKind.GARAGE]
    if garage:
        worst = max(garage, key=lambda record: record.result.billable)
        figures.append(
            Figure(
                "billable_garage_day",
                worst.result.billable,
                True,
                detail={str(r.model): r.as_json() for r in garage},
            )
        )
    for model in SleepModel:
        for integration, key in (
            (RESILIENT, f"billable_away_day_{model}"),
            (CORE, f"baseline_billable_away_day_{model}"),
        ):
            try:
                record = _find(days, integration, DayKind.AWAY, model)
            except LookupError:
                continue
            figures.append(Figure(key, record.result.billable, True, detail=record.as_json()))
    if ours:
        busiest = max(ours, key=lambda record: record.result.requests)
        figures.append(
            Figure(
                "requests_per_day_healthy",
                busiest.result.requests,
                True,
                samples=[record.result.requests for record in ours],
                detail={
                    "busiest": f"{busiest.kind} day, {busiest.model}",
                    "by_kind": busiest.result.requests_by_kind,
                },
            )
        )
        figures.append(
            Figure(
                "polling_wakes_24h",
                max(record.result.polling_wakes for record in ours),
                True,
                detail={
                    f"{r.kind}-{r.model}": r.result.wakes_by_link
                    for r in ours
                    if r.result.wakes_by_link
                },
            )
        )
    return figures


def _pair(days: list[DayRecord], kind: DayKind, model: SleepModel) -> list[DayRecord | None]:
    found: list[DayRecord | None] = []
    for integration in (RESILIENT, CORE):
        try:
            found.append(_find(days, integration, kind, model))
        except LookupError:
            found.append(None)
    return found


def _cells(records: list[DayRecord | None], value: Any) -> str:
    return " / ".join("-" if record is None else value(record.result) for record in records)


def render_days(days: list[DayRecord]) -> str:
    """The days side by side: ours / tesla_fleet's, per day and sleep model."""
    header = (
        "day",
        "sleep model",
        "billable",
        "USD/day",
        "USD/30 d",
        "requests, all kinds",
        "wakes caused",
        "car awake h",
    )
    lines: list[tuple[str, ...]] = []
    for kind in DayKind:
        for model in SleepModel:
            pair = _pair(days, kind, model)
            if pair == [None, None]:
                continue
            lines.append(
                (
                    str(kind),
                    str(model),
                    _cells(pair, lambda r: str(r.billable)),
                    _cells(pair, lambda r: f"{r.cost_usd:.3f}"),
                    _cells(pair, lambda r: f"{30 * r.cost_usd:.2f}"),
                    _cells(pair, lambda r: str(r.requests)),
                    _cells(pair, lambda r: str(r.polling_wakes)),
                    _cells(pair, lambda r: f"{r.awake_s / 3600:.1f}"),
                )
            )
    out = text_table(header, lines)
    out.append(f"each cell: {RESILIENT} / {CORE} (Home Assistant's own), same day and car")
    out.append(FREE_ENDPOINTS)
    return "\n".join(out)


type Day = Callable[[Context, DayKind, SleepModel], Awaitable[DayRecord]]
type DayScenario = Callable[[Context, tuple[DayKind, SleepModel]], Awaitable[list[DayRecord]]]


def day_scenario(day: Day) -> DayScenario:
    """A scenario's `run` for one simulated `day` per variant (kind of day, sleep model)."""

    async def run(ctx: Context, variant: tuple[DayKind, SleepModel]) -> list[DayRecord]:
        kind, model = variant
        return [await day(ctx, kind, model)]

    return run
