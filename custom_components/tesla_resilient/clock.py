"""The integration's time: ages, deadlines and waits, replaceable by a simulated car's time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN


@dataclass(frozen=True, slots=True)
class Clock:
    """Time as the integration reads it: ages, deadlines and waits.

    Put a different one in hass.data[DATA_CLOCK] before setup to run on a simulated car's time.
    """

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


DATA_CLOCK: HassKey[Clock] = HassKey(f"{DOMAIN}_clock")
