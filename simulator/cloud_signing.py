"""The Fleet API's part in Tesla's Vehicle Command Protocol: relaying signed commands, key status.

Tesla's servers check only the OAuth token; the car checks every signed message against its
own key list (developer.tesla.com/docs/fleet-api, `signed_command` and virtual keys;
teslamotors/vehicle-command `pkg/proxy/proxy.go`, `pkg/connector/inet/inet.go`). So each car
has one verifier, `simulator.ble_car.BleCar`, answering both its Bluetooth and its cloud face.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import RoutableMessage

from simulator.ble_car import BleCar
from simulator.vehicle import CommandSigning, VirtualCar


class InvalidSignedCommand(ValueError):
    """A `signed_command` body that does not carry a base64 RoutableMessage."""


def decode_routable(body: Any) -> bytes:
    """Return the RoutableMessage bytes of a `{"routable_message": "<base64>"}` body."""
    if not isinstance(body, dict) or not isinstance(body.get("routable_message"), str):
        raise InvalidSignedCommand("routable_message missing")
    try:
        return base64.b64decode(body["routable_message"], validate=True)
    except binascii.Error as err:
        raise InvalidSignedCommand("routable_message is not base64") from err


def encode_routable(message: RoutableMessage) -> str:
    """Return a RoutableMessage as `signed_command` answers it: standard base64."""
    return base64.b64encode(message.SerializeToString()).decode()


def firmware_version(car: VirtualCar) -> str:
    """Return the car's firmware version without the build hash ("2025.14.3")."""
    return car.car_version.split(" ", 1)[0]


class CloudSigning:
    """One verifier per car, the application's key and what `fleet_status` reports."""

    def __init__(self, application_public_key: bytes | None = None) -> None:
        """Start with no car's verifier known; `application_public_key` is the app's own key."""
        self.application_public_key = application_public_key
        """The key the application hosts at `/.well-known/appspecific/com.tesla.3p.public-key.pem`
        (what `fleet_status` calls paired); None until told."""
        self._ble_cars: dict[str, BleCar] = {}

    def attach(self, ble_car: BleCar) -> None:
        """Use this verifier for its car's cloud face (the one its Bluetooth face uses)."""
        self._ble_cars[ble_car.car.vin] = ble_car

    def detach(self, vin: str) -> None:
        """Forget a car's verifier."""
        self._ble_cars.pop(vin, None)

    def ble_car(self, car: VirtualCar) -> BleCar:
        """Return the car's verifier, booting one with a generated car key when it has none."""
        ble_car = self._ble_cars.get(car.vin)
        if ble_car is None or ble_car.car is not car:
            ble_car = BleCar(car)
            self._ble_cars[car.vin] = ble_car
        return ble_car

    def attached(self, vin: str) -> BleCar | None:
        """Return the verifier in use for a VIN, if any."""
        return self._ble_cars.get(vin)

    def enroll_application_key(self, car: VirtualCar, public_key: bytes | None = None) -> None:
        """Add the application's key to the car as a Fleet Manager key (`BleCar`'s docstring).

        Without `public_key`, the application key this simulator was given is used.
        """
        key = public_key or self.application_public_key
        if key is None:
            raise ValueError("no application public key")
        self.ble_car(car).enroll_application_key(key)

    def key_paired(self, car: VirtualCar) -> bool:
        """Whether the application's key is on the car's key list, whatever its role."""
        key = self.application_public_key
        ble_car = self._ble_cars.get(car.vin)
        return key is not None and ble_car is not None and key in ble_car.known_keys

    def fleet_status(self, cars: Mapping[str, VirtualCar], vins: Iterable[str]) -> dict[str, Any]:
        """Answer `POST /api/1/vehicles/fleet_status` for the VINs asked about.

        Shape from developer.tesla.com/docs/fleet-api (vehicle endpoints, `fleet_status`) as
        Teslemetry/python-tesla-fleet-api's `VehicleFleet.fleet_status` and public clients read
        it: `key_paired_vins` and `unpaired_vins` for the application's key, and per car
        `vehicle_info` with `firmware_version`, `vehicle_command_protocol_required`,
        `discounted_device_data`, `fleet_telemetry_version` and `total_number_of_keys`. Sources
        are silent on VINs not on the account: they are listed unpaired, without vehicle_info.
        """
        paired: list[str] = []
        unpaired: list[str] = []
        info: dict[str, dict[str, Any]] = {}
        for vin in vins:
            car = cars.get(vin)
            if car is None:
                unpaired.append(vin)
                continue
            (paired if self.key_paired(car) else unpaired).append(vin)
            ble_car = self._ble_cars.get(vin)
            info[vin] = {
                "firmware_version": firmware_version(car),
                "vehicle_command_protocol_required": (
                    car.command_signing is CommandSigning.REQUIRED
                ),
                "discounted_device_data": False,
                "fleet_telemetry_version": "1.0.0",
                "total_number_of_keys": 0 if ble_car is None else len(ble_car.known_keys),
            }
        return {"key_paired_vins": paired, "unpaired_vins": unpaired, "vehicle_info": info}
