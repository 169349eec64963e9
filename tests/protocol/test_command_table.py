"""The Bluetooth command table agrees with the router's registry and builds what the car reads."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.tesla_resilient import router
from custom_components.tesla_resilient.ble_messages import COMMANDS
from custom_components.tesla_resilient.protocol import INFOTAINMENT, VCSEC
from custom_components.tesla_resilient.protocol.proto import car_server, vcsec

PARAMS: dict[str, dict[str, Any]] = {
    "actuate_trunk": {"which_trunk": "front"},
    "set_temps": {"driver_temp": 21.5},
    "set_charge_limit": {"percent": 80},
    "set_charging_amps": {"charging_amps": 16},
    "set_sentry_mode": {"on": True},
    "window_control": {"command": "vent"},
}


def test_the_table_carries_exactly_what_the_router_sends_over_bluetooth() -> None:
    routed = {name for name, kind in router.COMMANDS.items() if kind.bluetooth}
    assert set(COMMANDS) == routed


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_builds_a_message_its_domain_reads(name: str) -> None:
    command = COMMANDS[name]
    payload = command.build(PARAMS.get(name, {}))

    if command.domain == VCSEC:
        message: Any = vcsec.UnsignedMessage.FromString(payload)
        assert message.WhichOneof("sub_message") in {"RKEAction", "closureMoveRequest"}
    else:
        assert command.domain == INFOTAINMENT
        message = car_server.Action.FromString(payload)
        assert message.vehicleAction.WhichOneof("vehicle_action_msg")


@pytest.mark.parametrize(
    ("name", "params"),
    [("actuate_trunk", {"which_trunk": "sideways"}), ("window_control", {"command": "smash"})],
)
def test_a_parameter_the_car_has_no_message_for_is_refused_before_sending(
    name: str, params: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        COMMANDS[name].build(params)
