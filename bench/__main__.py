"""Run the benchmark and report its figures: `python -m bench [--scenario NAME] [--list]`."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from bench.figures import SPECS, Figure, Row, Status, evaluate, render_table
from bench.scenarios import SCENARIOS, load
from bench.session import BenchSession
from bench.settings import Settings, real_monotonic

HERE = Path(__file__).resolve().parent
TESTS = HERE / "test_scenarios.py"
DEFAULT_JSON = HERE / "last-run.json"
SCENARIO_TIMEOUT_S = 240
PACKAGES = ("homeassistant", "tesla-fleet-api", "pytest-homeassistant-custom-component")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Tesla integrations in Home Assistant against the simulated car.",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--ble-latency-ms",
        type=float,
        default=defaults.ble_latency_s * 1000,
        help="Bluetooth round trip through the proxy (default: %(default)g)",
    )
    parser.add_argument(
        "--cloud-latency-ms",
        type=float,
        default=defaults.cloud_latency_s * 1000,
        help="time the simulated cloud takes to answer (default: %(default)g)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=defaults.runs,
        help="repetitions of scenarios that report percentiles (default: %(default)d)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help="where to write the figures (default: %(default)s)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with 1 when a scenario failed, 2 when a measured figure misses its target",
    )
    parser.add_argument(
        "--list", action="store_true", help="list scenarios and the figures they measure, then exit"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's progress")
    return parser.parse_args(argv)


def _listing() -> str:
    produced: dict[str, str] = {}
    lines = ["scenarios:"]
    for name in SCENARIOS:
        keys = tuple(load(name).PRODUCES)
        produced.update(dict.fromkeys(keys, name))
        lines.append(f"  {name}: {', '.join(keys)}")
    produced["bench_wall_s"] = "the run itself"
    lines.append("figures:")
    lines.extend(
        f"  {spec.key} ({spec.target_text()}): {produced.get(spec.key, 'no scenario yet')}"
        for spec in SPECS
    )
    return "\n".join(lines)


def _pytest_args(args: argparse.Namespace) -> list[str]:
    selected = ["-k", " or ".join(args.scenario)] if args.scenario else []
    return [
        str(TESTS),
        f"--rootdir={HERE.parent}",
        "-p",
        "no:sugar",
        "-p",
        "no:cacheprovider",
        "--no-header",
        "-W",
        "ignore::DeprecationWarning",
        f"--timeout={SCENARIO_TIMEOUT_S}",
        "-rfEx",
        "" if args.verbose else "-q",
        *selected,
    ]


def _versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def _machine() -> dict[str, Any]:
    return {
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def report(
    session: BenchSession, rows: list[Row], args: argparse.Namespace, real_s: float, exit_code: int
) -> dict[str, Any]:
    """Everything a run measured, as bench/last-run.json stores it."""
    failed = {failure.scenario: failure.error for failure in session.failures}
    scenarios = {
        name: {
            "real_s": round(session.scenarios[name], 1) if name in session.scenarios else None,
            "status": "failed" if name in failed else "ok",
            "error": failed.get(name),
        }
        for name in [*session.scenarios, *(n for n in failed if n not in session.scenarios)]
    }
    return {
        **{row.spec.key: None if row.figure is None else row.figure.value for row in rows},
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "real_s": round(real_s, 1),
        "pytest_exit_code": exit_code,
        "machine": _machine(),
        "versions": _versions(),
        "settings": session.settings.as_json(),
        "scenarios": scenarios,
        "figures": {row.spec.key: row.as_json() for row in rows},
        "days": [record.as_json() for record in session.days],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios under pytest, print the table and write the JSON report."""
    args = parse_args(argv)
    if args.list:
        print(_listing())
        return 0
    settings = Settings(
        ble_latency_s=args.ble_latency_ms / 1000,
        cloud_latency_s=args.cloud_latency_ms / 1000,
        runs=args.runs,
    )
    session = BenchSession(settings)
    started = real_monotonic()
    exit_code = int(pytest.main([arg for arg in _pytest_args(args) if arg], plugins=[session]))
    real_s = real_monotonic() - started
    # Home Assistant's modules load only after pytest-homeassistant-custom-component patched them.
    from bench.days import day_figures, render_days  # noqa: PLC0415

    wall = Figure("bench_wall_s", round(real_s, 1), False, detail={"scenarios": session.scenarios})
    rows = evaluate([*session.figures, *day_figures(session.days), wall], session.failures)
    print()
    print(
        f"Tesla integrations against the simulated car (Bluetooth round trip "
        f"{args.ble_latency_ms:g} ms, cloud {args.cloud_latency_ms:g} ms), {real_s:.0f} s"
    )
    if session.days:
        print(render_days(session.days))
        print()
    print(render_table(rows))
    args.json.write_text(
        json.dumps(report(session, rows, args, real_s, exit_code), indent=2) + "\n"
    )
    print(f"\nwritten to {args.json}")
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        return 1
    if args.strict and session.failures:
        return 1
    if args.strict and any(row.status is Status.MISSES for row in rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
