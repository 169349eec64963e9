"""Start Home Assistant with Tesla Resilient and the simulated Tesla on 127.0.0.1:8123."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from homeassistant.const import RESTART_EXIT_CODE

from demo.dashboard import NEARBY_VIN
from demo.prepare import CONFIG_DIR, LOGIN, REPO_ROOT, async_prepare_storage, build_config_dir

HOST = "127.0.0.1"
PORT = 8123
SIMULATOR_PORT = 8321
POLL_S = 0.5


def port_in_use(port: int, host: str = HOST) -> bool:
    """Tell whether something already listens on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def home_assistant_command(config_dir: Path) -> list[str]:
    """Return the command line that runs Home Assistant on the demo's configuration."""
    return [sys.executable, "-m", "homeassistant", "--config", str(config_dir), "--skip-pip"]


def home_assistant_env() -> dict[str, str]:
    """Return the environment for Home Assistant, with the repository importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if part
    )
    return env


def banner() -> str:
    """Return what to open and how to log in."""
    return "\n".join(
        (
            "",
            "  Tesla Resilient demo is running",
            f"    open      http://{HOST}:{PORT}",
            f"    user      {LOGIN.username}",
            f"    password  {LOGIN.password}",
            "    car       Settings > Devices & services > Tesla simulator",
            f"    nearby    a Model Y to discover and pair over Bluetooth, VIN {NEARBY_VIN}",
            f"    Fleet API http://{HOST}:{SIMULATOR_PORT} (simulated)",
            "  Ctrl-C stops it.",
            "",
        )
    )


def _wait_until_listening(process: subprocess.Popen[bytes], stopping: threading.Event) -> bool:
    while process.poll() is None and not stopping.is_set():
        try:
            with socket.create_connection((HOST, PORT), timeout=POLL_S):
                return True
        except OSError:
            time.sleep(POLL_S)
    return False


def run_home_assistant(config_dir: Path) -> int:
    """Run Home Assistant until it exits; SIGINT and SIGTERM are passed on to it."""
    process = subprocess.Popen(
        home_assistant_command(config_dir), cwd=REPO_ROOT, env=home_assistant_env()
    )
    stopping = threading.Event()

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        if process.poll() is None:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if _wait_until_listening(process, stopping):
            print(banner(), flush=True)
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line: where the configuration directory is."""
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=CONFIG_DIR,
        help=f"Home Assistant configuration directory (default: {CONFIG_DIR.name})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Prepare the configuration and run Home Assistant in the foreground, restarting when asked."""
    config_dir: Path = parse_args(argv).config_dir.resolve()
    busy = [port for port in (PORT, SIMULATOR_PORT) if port_in_use(port)]
    if busy:
        print(f"Port {', '.join(map(str, busy))} on {HOST} is in use; stop what uses it first.")
        return 1
    build_config_dir(config_dir)
    asyncio.run(async_prepare_storage(config_dir))
    print(f"Starting Home Assistant from {config_dir} ...", flush=True)
    while (code := run_home_assistant(config_dir)) == RESTART_EXIT_CODE:
        print("Restarting Home Assistant ...", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
