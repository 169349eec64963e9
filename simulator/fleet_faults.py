"""What Tesla's Fleet API answers when it refuses a request, body for body.

Sources are named on each answer. Where the sources give a status but no body, the body follows
Tesla's documented error convention (developer.tesla.com/docs/fleet-api/getting-started/
conventions: `response`, a short `error`, `error_description`), worded after tesla-fleet-api's
exception for that status (Teslemetry/python-tesla-fleet-api `exceptions.py`).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

VCP_DOCS: Final = (
    "https://developer.tesla.com/docs/fleet-api"
    "#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning"
)
VCP_REQUIRED: Final = (
    f"Tesla Vehicle Command Protocol required, please refer to the documentation here: {VCP_DOCS}"
)
"""The refusal of a plain REST command by a car that needs signed ones, word for word as
alandtse/tesla#858 and teslamotors/vehicle-command#252 quote it."""
UNSIGNED_HARDLOCKED: Final = "unsigned_cmds_hardlocked"
"""The car's own refusal of a plain command, as jonasman/TeslaSwift#160 reports it."""
MISSING_SCOPES: Final = "Unauthorized missing scopes"
"""teslamotors/vehicle-command#199; developer.tesla.com/docs/fleet-api/support/faq."""
REGISTER_DOCS: Final = (
    "https://developer.tesla.com/docs/fleet-api/endpoints/partner-endpoints#register"
)
REGION_DOCS: Final = "https://developer.tesla.com/docs/fleet-api#regional-requirements"
PAYMENT_REQUIRED: Final = "Payment is required in order to use the API (non-free account only)."
ACCOUNT_LOCKED: Final = "Account is locked, and must be unlocked by Tesla."
PRIVACY_BLOCKED: Final = "Querying for a user/vehicle without proper privacy settings."
CAR_UNREACHABLE: Final = "vehicle is not available"
INFOTAINMENT_OFFLINE: Final = "vehicle is offline"
CAR_ERROR: Final = "Vehicle responded with an error - might need a reboot, OTA update, or service."
UNSUPPORTED_VEHICLE: Final = "unsupported vehicle"


def json_error(status: int, error: str, **headers: str) -> web.Response:
    """Answer with Tesla's error envelope: no response, a short error, an empty description."""
    body: dict[str, Any] = {"response": None, "error": error, "error_description": ""}
    return web.json_response(body, status=status, headers=headers)


def vcp_required() -> web.Response:
    """HTTP 403 for a plain REST command to a car that requires the Vehicle Command Protocol.

    Body as reported in alandtse/tesla#858 and teslamotors/vehicle-command#252; Tesla's
    deprecation notice (VCP_DOCS) says which cars refuse.
    """
    return json_error(403, VCP_REQUIRED)


def unsigned_hardlocked() -> web.Response:
    """HTTP 200 with a failed result: the other refusal reported (jonasman/TeslaSwift#160)."""
    return web.json_response({"response": {"result": False, "reason": UNSIGNED_HARDLOCKED}})


def missing_scopes() -> web.Response:
    """HTTP 403: the owner did not grant the scope the endpoint needs.

    Body quoted in teslamotors/vehicle-command#199; Tesla's FAQ
    (developer.tesla.com/docs/fleet-api/support/faq) explains it as missing scopes.
    """
    return json_error(403, MISSING_SCOPES)


def unregistered_in_region(client_id: str, base_url: str) -> web.Response:
    """HTTP 412: the application's partner account is not registered in this region.

    Body as teslamotors/vehicle-command#195 and #250 and scald/tesla-mcp#2 quote it: only an
    `error` field, naming the application's client id and the region's base URL.
    """
    error = (
        f"Account {client_id} must be registered in the current region {base_url}, "
        f"please see {REGISTER_DOCS}"
    )
    return web.json_response({"error": error}, status=412)


def out_of_region(base_url: str) -> web.Response:
    """HTTP 421: the user belongs to another region, whose base URL the answer names.

    Wording as bassmaster187/TeslaLogger#1203 logs it ("user out of region, use base URL:
    https://fleet-api.prd.na.vn.cloud.tesla.com/, see ...#regional-requirements"); Tesla's
    response codes call 421 "This user is not present in the current region"
    (teslamotors/fleet-telemetry#180).
    """
    return json_error(421, f"user out of region, use base URL: {base_url}/, see {REGION_DOCS}")


def payment_required() -> web.Response:
    """HTTP 402: the application's account has no way to pay for the calls.

    Tesla's response codes list 402 in these words (tesla-fleet-api `PaymentRequired` quotes
    them); no source shows the body, so it is the usual `error` field.
    """
    return json_error(402, PAYMENT_REQUIRED)


def account_locked() -> web.Response:
    """HTTP 423: the account is locked (Tesla's response codes; tesla-fleet-api `Locked`)."""
    return json_error(423, ACCOUNT_LOCKED)


def privacy_blocked() -> web.Response:
    """HTTP 451: the owner's privacy settings block the request.

    Tesla's response codes; tesla-fleet-api `ResourceUnavailableForLegalReasons`.
    """
    return json_error(451, PRIVACY_BLOCKED)


def car_unreachable() -> web.Response:
    """HTTP 503 from `signed_command`: the car could not be reached.

    The command may or may not have run (reference: Tesla's response codes; the 2023-12-07
    outage in teslamotors/vehicle-command#89, where `signed_command` answered 503 while plain
    REST worked).
    """
    return json_error(503, CAR_UNREACHABLE)


def infotainment_offline() -> web.Response:
    """HTTP 408 "vehicle is offline" from `signed_command` for the infotainment domain.

    Reported while the car is online, occupied and even driving, and while its security
    controller's messages go through the same endpoint (teslamotors/vehicle-command#285, #450).
    """
    return json_error(408, INFOTAINMENT_OFFLINE)


def car_error() -> web.Response:
    """HTTP 540: the car answered with an error (tesla-fleet-api `DeviceUnexpectedResponse`)."""
    return json_error(540, CAR_ERROR)


def unsupported_vehicle() -> web.Response:
    """HTTP 403 for a signed command to a car that does not speak the protocol.

    Tesla's deprecation notice and vehicle-command's README: Model S and X built before 2021
    take plain REST commands only. Sources are silent on the answer; the error is
    tesla-fleet-api's `UnsupportedVehicle` (403, "unsupported vehicle").
    """
    return json_error(403, UNSUPPORTED_VEHICLE)
