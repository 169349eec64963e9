"""The benchmark's figures: what each one means, its target, and how a run reports them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simulator.billing import MONTHLY_CREDIT_USD

DAYS_PER_MONTH = 30


class Status(StrEnum):
    """Where a figure stands after a run."""

    MEETS = "meets target"
    MISSES = "misses target"
    REFERENCE = "reference"
    NOT_MEASURED = "not measured yet"
    FAILED = "scenario failed"


@dataclass(frozen=True, slots=True)
class Spec:
    """One figure the benchmark reports: its meaning, unit and target.

    `limit` is an upper bound; `relative_to` makes it a fraction of another figure's value.
    A spec without a limit is a reference figure.
    """

    key: str
    title: str
    unit: str
    limit: float | None = None
    relative_to: str | None = None
    relative_label: str = ""
    pending: str = ""
    """Why the figure cannot be measured yet; its value is reported as null."""

    def target_text(self, bound: float | None = None) -> str:
        """The target as the table prints it, with this run's bound when it is relative."""
        if self.limit is None:
            return "reference"
        if self.relative_to is not None:
            share = f"{self.limit:.0%} of {self.relative_label or self.relative_to}"
            return share if bound is None else f"<= {_number(bound)} ({share})"
        return f"<= {_number(self.limit)}"

    def bound(self, values: Mapping[str, float | None]) -> float | None:
        """The upper bound for this run, or None when there is none (yet)."""
        if self.limit is None:
            return None
        if self.relative_to is None:
            return self.limit
        reference = values.get(self.relative_to)
        return None if reference is None else self.limit * reference


SPECS: tuple[Spec, ...] = (
    Spec("detection_loud_s_p95", "outage that refuses or answers 5xx -> cloud off, p95", "s", 75),
    Spec("detection_silent_s_p95", "outage that never answers -> cloud off, p95", "s", 100),
    Spec("recovery_s_p95", "cloud back -> cloud on, p95", "s", 90),
    Spec("false_outages_24h", "outages declared in a day of sleep, 408, 429, 5xx blips", "", 0),
    Spec(
        "command_outage_overhead_ms_p50",
        "command during a known outage, minus its Bluetooth round trips, p50",
        "ms",
        100,
    ),
    Spec(
        "first_command_silent_outage_s",
        "first command after a silent black hole, until confirmed over Bluetooth",
        "s",
        6,
    ),
    Spec(
        "billable_garage_day",
        "billable requests, a day in Bluetooth range (worse sleep model)",
        "requests",
        1,
    ),
    Spec(
        "billable_away_day_sleeps",
        "billable requests, a day out of range, car that sleeps while polled",
        "requests",
        0.5,
        relative_to="baseline_billable_away_day_sleeps",
        relative_label="tesla_fleet",
    ),
    Spec(
        "baseline_billable_away_day_sleeps",
        "the same day with Home Assistant's own tesla_fleet",
        "requests",
    ),
    Spec(
        "billable_away_day_kept_awake",
        "billable requests, a day out of range, car kept awake by data requests",
        "requests",
        0.5,
        relative_to="baseline_billable_away_day_kept_awake",
        relative_label="tesla_fleet",
    ),
    Spec(
        "baseline_billable_away_day_kept_awake",
        "the same day with Home Assistant's own tesla_fleet",
        "requests",
    ),
    Spec(
        "requests_per_day_healthy",
        "requests of every kind per account in a healthy day (busiest day)",
        "requests",
        1500,
    ),
    Spec("polling_wakes_24h", "wake-ups caused by polling in any of the days", "wakes", 0),
    Spec(
        "ble_handshakes_per_100_commands",
        "session handshakes for 100 Bluetooth commands in a row",
        "handshakes",
        2,
    ),
    Spec(
        "signed_cloud_handshakes_per_100_commands",
        "session handshakes for 100 signed cloud commands in a row",
        "handshakes",
        2,
    ),
    Spec(
        "signed_cloud_command_ms_p50",
        "a signed cloud command, press to confirmation, car awake (median)",
        "ms",
    ),
    Spec("setup_cloud_down_s", "entry setup with the cloud down and a Bluetooth key", "s", 2),
    Spec("bench_wall_s", "real time of the whole benchmark run on this machine", "s", 300),
)

SPEC_BY_KEY: dict[str, Spec] = {spec.key: spec for spec in SPECS}


@dataclass(slots=True)
class Figure:
    """One measured value, with whether it was measured on simulated time and how it came about."""

    key: str
    value: float
    simulated_time: bool
    samples: Sequence[float] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse keys the report does not know and values that are not numbers."""
        if self.key not in SPEC_BY_KEY:
            raise KeyError(f"unknown figure {self.key}")
        if not isinstance(self.value, int | float) or math.isnan(self.value):
            raise ValueError(f"{self.key}: {self.value!r} is not a measurement")


@dataclass(slots=True)
class Failure:
    """A scenario that raised instead of returning its figures."""

    scenario: str
    keys: tuple[str, ...]
    error: str


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (p95 of 20 runs is the 19th smallest)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def monthly_cost(day_cost_usd: float) -> tuple[float, float]:
    """What 30 such days cost, before and after Tesla's monthly credit."""
    month = DAYS_PER_MONTH * day_cost_usd
    return month, max(0.0, month - MONTHLY_CREDIT_USD)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the report."""

    spec: Spec
    figure: Figure | None
    status: Status
    bound: float | None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        """The row as bench/last-run.json stores it."""
        figure = self.figure
        meets = (
            None
            if self.status not in (Status.MEETS, Status.MISSES)
            else self.status is Status.MEETS
        )
        return {
            "title": self.spec.title,
            "value": None if figure is None else figure.value,
            "unit": self.spec.unit,
            "target": self.spec.target_text(self.bound),
            "target_value": self.bound,
            "meets_target": meets,
            "status": str(self.status),
            "simulated_time": None if figure is None else figure.simulated_time,
            "samples": [] if figure is None else list(figure.samples),
            "detail": {} if figure is None else figure.detail,
            "note": self.note,
        }


def evaluate(figures: Iterable[Figure], failures: Iterable[Failure] = ()) -> list[Row]:
    """Judge every known figure against its target; absent ones are reported as such."""
    by_key = {figure.key: figure for figure in figures}
    failed = {key: failure for failure in failures for key in failure.keys}
    values: dict[str, float | None] = {key: figure.value for key, figure in by_key.items()}
    rows: list[Row] = []
    for spec in SPECS:
        figure = by_key.get(spec.key)
        bound = spec.bound(values)
        if figure is None and spec.pending:
            rows.append(Row(spec, None, Status.NOT_MEASURED, bound, spec.pending))
        elif figure is None:
            if spec.key in failed:
                failure = failed[spec.key]
                note = f"{failure.scenario}: {failure.error}"
                rows.append(Row(spec, None, Status.FAILED, bound, note))
            else:
                rows.append(Row(spec, None, Status.NOT_MEASURED, bound))
        elif spec.limit is None:
            rows.append(Row(spec, figure, Status.REFERENCE, bound))
        elif bound is None:
            rows.append(Row(spec, figure, Status.NOT_MEASURED, bound, f"no {spec.relative_to}"))
        else:
            status = Status.MEETS if figure.value <= bound else Status.MISSES
            rows.append(Row(spec, figure, status, bound))
    return rows


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def _value_text(row: Row) -> str:
    if row.figure is None:
        return "-"
    unit = row.spec.unit
    if unit == "USD":
        return f"{row.figure.value:.2f}"
    return _number(row.figure.value)


def text_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> list[str]:
    """A header, a rule and the lines, each column as wide as its widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]

    def row(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [
        row(header).rstrip(),
        "  ".join("-" * width for width in widths),
        *(row(line).rstrip() for line in lines),
    ]


def render_table(rows: Sequence[Row]) -> str:
    """The report as a fixed-width text table."""
    header = ("figure", "value", "unit", "target", "status", "sim. time")
    lines = [
        (
            row.spec.key,
            _value_text(row),
            row.spec.unit,
            row.spec.target_text(row.bound),
            str(row.status),
            "-" if row.figure is None else ("yes" if row.figure.simulated_time else "no"),
        )
        for row in rows
    ]
    out = text_table(header, lines)
    notes = [f"  {row.spec.key}: {row.note}" for row in rows if row.note]
    if notes:
        out.extend(["", "notes:", *notes])
    return "\n".join(out)
