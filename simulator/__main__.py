"""Run the simulated Tesla cloud until Ctrl-C: `python -m simulator [--host H] [--port P]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence

from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8321


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Serve a simulated Tesla Fleet API."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    return parser.parse_args(argv)


async def serve(
    host: str,
    port: int,
    *,
    stop: asyncio.Event | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve one virtual car until `stop` is set (or forever), announcing how to reach it."""
    sim = FleetApiSimulator(VirtualCar(), host=host, port=port)
    await sim.start()
    try:
        announce(f"Fleet API simulator: {sim.base_url}")
        announce(f"access token: {sim.access_token}")
        announce(f"refresh token: {sim.refresh_token}")
        announce(f"OAuth client: {sim.client_id} / {sim.client_secret}")
        announce(f"vehicle: {sim.cars[0].vin}")
        if stop is None:
            stop = asyncio.Event()
            with contextlib.suppress(NotImplementedError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator from the command line."""
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, announce=lambda line: print(line, flush=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
