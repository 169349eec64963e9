"""A simulated Tesla Fleet API: OAuth, vehicles, vehicle data, wake and commands, with faults."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import Domain, RoutableMessage

from simulator import fleet_faults
from simulator.billing import Billing, Charge
from simulator.ble_car import BleCar
from simulator.cloud_signing import (
    CloudSigning,
    InvalidSignedCommand,
    decode_routable,
    encode_routable,
)
from simulator.secrets import remember as remember_secret
from simulator.vehicle import COMMANDS, CarAsleep, CommandError, CommandSigning, VirtualCar

Clock = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CLIENT_ID: Final = "tesla-resilient-sim"
CLIENT_SECRET: Final = "tesla-resilient-sim-secret"
REGION: Final = "eu"
ALTERNATE_REGION: Final = "na"
ALTERNATE_PREFIX: Final = f"/{ALTERNATE_REGION}"
"""Where the simulator also serves every route: the other region's base URL is the simulator's
own with this path prefix (`FleetApiSimulator.alternate_base_url`), reachable over loopback."""
USER_ID: Final = 1_000_001
DEFAULT_SCOPES: Final = (
    "openid",
    "offline_access",
    "user_data",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
)
DEFAULT_SLOW_S: Final = 8.0
DEFAULT_RETRY_AFTER_S: Final = 30.0
DEFAULT_ERROR_STATUS: Final = 503
DEFAULT_HTML_STATUS: Final = 502
DEFAULT_FLAP_PERIOD_S: Final = 3.0
SHUTDOWN_TIMEOUT_S: Final = 0.5
BACKLOG: Final = 128

DATA_SECTIONS: Final = (
    "charge_state",
    "climate_state",
    "drive_state",
    "gui_settings",
    "vehicle_config",
    "vehicle_state",
)
LOCATION_DATA: Final = "location_data"
LOCATION_KEYS: Final = frozenset(
    {"latitude", "longitude", "native_latitude", "native_longitude", "native_type", "gps_as_of"}
)


class FaultKind(StrEnum):
    """The ways the simulated cloud can fail."""

    NONE = "none"
    REFUSED = "refused"
    SERVER_ERROR = "server_error"
    BLACK_HOLE = "black_hole"
    DATA_ONLY = "data_only"
    COMMANDS_ONLY = "commands_only"
    STALE_DATA = "stale_data"
    SLOW = "slow"
    RATE_LIMITED = "rate_limited"
    TOKEN_EXPIRED = "token_expired"
    COMMAND_TIMEOUT_AFTER_EXECUTE = "command_timeout_after_execute"
    CONNECT_TIMEOUT = "connect_timeout"
    """Connections never complete: nothing a client sends reaches the server."""
    TOKEN_REVOKED = "token_revoked"
    """Every access and refresh token issued so far is revoked: only a new sign-in helps."""
    VEHICLE_OFFLINE = "vehicle_offline"
    """The car dropped off the network: the listing still says online, the car answers 408."""
    MALFORMED_JSON = "malformed_json"
    """Authenticated answers arrive cut short, after the request was handled."""
    MISSING_FIELDS = "missing_fields"
    """Authenticated answers lose fields the Fleet API promises, after the request was handled."""
    HTML_ERROR = "html_error"
    """A load balancer in front answers with an HTML error page (502 unless `status` says)."""
    FLAPPING = "flapping"
    """Every `period_s` seconds (of the simulator's clock) the cloud goes down or comes back."""
    UNSIGNED_HARDLOCKED = "unsigned_hardlocked"
    """Plain REST commands to a car that needs signing get HTTP 200 `unsigned_cmds_hardlocked`
    instead of the 403 (both reported: jonasman/TeslaSwift#160; alandtse/tesla#858)."""
    MISSING_SCOPES = "missing_scopes"
    """Data calls answer 403 "Unauthorized missing scopes": the owner did not grant the scope
    (teslamotors/vehicle-command#199; Tesla's FAQ)."""
    UNREGISTERED_REGION = "unregistered_region"
    """The vehicle list, products and user calls answer 412 "Account ... must be registered in
    the current region" (teslamotors/vehicle-command#195, #250)."""
    OUT_OF_REGION = "out_of_region"
    """Every authenticated call but `users/region` answers 421 "user out of region, use base
    URL: <alternate_base_url>/" (bassmaster187/TeslaLogger#1203); calls under the alternate
    base URL are answered, and `users/region` names it."""
    PAYMENT_REQUIRED = "payment_required"
    """Every authenticated call answers 402: the application's account is not paid for (Tesla's
    response codes)."""
    ACCOUNT_LOCKED = "account_locked"
    """Every authenticated call answers 423: the account is locked (Tesla's response codes)."""
    PRIVACY_BLOCKED = "privacy_blocked"
    """Every authenticated call answers 451: the owner's privacy settings block it (Tesla's
    response codes)."""
    CAR_UNREACHABLE = "car_unreachable"
    """`signed_command` answers 503 "vehicle is not available": the car could not be reached
    (reference: vehicle-command#89). With `ran=1` the car ran the message first."""
    INFOTAINMENT_OFFLINE = "infotainment_offline"
    """`signed_command` answers 408 "vehicle is offline" to every message for the infotainment
    domain while the car is online and its security controller answers (vehicle-command#285,
    #450)."""
    CAR_ERROR = "car_error"
    """Calls that reach the car answer 540: the car answered with an error (Tesla's response
    codes). With `ran=1` the car ran the request first."""


class Endpoint(StrEnum):
    """What a route is, for faults, authentication and billing."""

    STATUS = "status"
    OAUTH = "oauth"
    ACCOUNT = "account"
    DATA = "data"
    STATE = "state"
    WAKE = "wake"
    COMMAND = "command"
    OTHER = "other"


UNAUTHENTICATED: Final = frozenset({Endpoint.STATUS, Endpoint.OAUTH, Endpoint.OTHER})
PRICING: Final[dict[Endpoint, Charge | None]] = {
    Endpoint.DATA: Charge.DATA,
    Endpoint.ACCOUNT: Charge.DATA,
    Endpoint.WAKE: Charge.WAKE,
    Endpoint.COMMAND: Charge.COMMAND,
    Endpoint.STATE: None,
    Endpoint.STATUS: None,
    Endpoint.OAUTH: None,
    Endpoint.OTHER: None,
}
"""Each endpoint's pricing category; every answer below 500 is billed by it, 500 and up never.

Sources: developer.tesla.com/docs/fleet-api/billing-and-limits ("All requests with a status
codes below 500 are counted as billable usage. Status code 500 and above are not billed", each
endpoint's category shown in its documentation; data 500, commands 1,000, wakes 50 requests per
USD); developer.tesla.com/docs/fleet-api/getting-started/best-practices, which has applications
check a vehicle's connectivity with the vehicle endpoint before "paid requests such as vehicle
data, commands, or wakes": the state call (`GET /api/1/vehicles/{vin}`) is free. `/status` and
the OAuth token endpoint carry no application token to bill (the token endpoint is on the
separate auth server). The vehicle list, `products`, `fleet_status` and the user endpoints
(`users/me`, `users/region`) have no category in the sources at hand: billed as data, the
harsher reading. `signed_command` is a command, session info requests through it included.
"""
NOT_LISTENING: Final = frozenset({FaultKind.REFUSED, FaultKind.CONNECT_TIMEOUT})
"""Faults under which the server accepts no connection."""
MISSING_KEYS: Final = frozenset({"state", "result", "reason", "charge_state", "vehicle_state"})
"""What a MISSING_FIELDS answer leaves out of its `response`."""
REACHES_CAR: Final = frozenset({"data:vehicle_data", "command:run", "command:signed"})
"""Routes that need the car itself to answer."""
REGION_SENSITIVE: Final = frozenset(
    {"data:vehicles", "data:products", "account:me", "account:region"}
)
"""Routes that answer 412 while the application is not registered in the region (the reports
in vehicle-command#195 and #250 are on the vehicle list, user and partner calls)."""
CAR_FAULTS: Final[dict[FaultKind, frozenset[str]]] = {
    FaultKind.CAR_UNREACHABLE: frozenset({"command:signed"}),
    FaultKind.CAR_ERROR: REACHES_CAR,
}
"""Faults of the car behind the cloud, and the routes they touch."""
EVERY_CALL_FAULTS: Final[dict[FaultKind, Callable[[], web.Response]]] = {
    FaultKind.PAYMENT_REQUIRED: fleet_faults.payment_required,
    FaultKind.ACCOUNT_LOCKED: fleet_faults.account_locked,
    FaultKind.PRIVACY_BLOCKED: fleet_faults.privacy_blocked,
}
"""Faults every authenticated call answers with."""
LOAD_BALANCER_PAGE: Final = (
    "<html><head><title>{status} Bad Gateway</title></head><body>"
    "<center><h1>{status} Bad Gateway</h1></center><hr><center>awselb/2.0</center>"
    "</body></html>"
)
DOWN_IN: Final[dict[FaultKind, frozenset[Endpoint]]] = {
    FaultKind.DATA_ONLY: frozenset({Endpoint.DATA, Endpoint.STATE}),
    FaultKind.COMMANDS_ONLY: frozenset({Endpoint.WAKE, Endpoint.COMMAND}),
}


@dataclass(slots=True)
class RequestRecord:
    """One request the simulator received; status is None while (or when) it got no answer."""

    method: str
    path: str
    status: int | None
    at: float
    query: str = ""


@dataclass(slots=True)
class _AccessToken:
    expires_at: float
    revoked: bool = False


@dataclass(slots=True)
class _AuthCode:
    redirect_uri: str
    scopes: tuple[str, ...]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def vehicle_id_for(vin: str) -> int:
    """Return the stable numeric id the simulated cloud gives a VIN."""
    return int.from_bytes(hashlib.sha256(vin.encode()).digest()[:6]) + 3_700_000_000_000_000


def _error(status: int, error: str, **headers: str) -> web.Response:
    body = {"response": None, "error": error, "error_description": ""}
    return web.json_response(body, status=status, headers=headers)


def _summary(car: VirtualCar, state: str) -> dict[str, Any]:
    vehicle_id = vehicle_id_for(car.vin)
    return {
        "id": vehicle_id,
        "user_id": USER_ID,
        "vehicle_id": car.vehicle_id,
        "vin": car.vin,
        "color": None,
        "access_type": "OWNER",
        "display_name": car.display_name,
        "option_codes": None,
        "granular_access": {"hide_private": False},
        "tokens": None,
        "state": state,
        "in_service": False,
        "id_s": str(vehicle_id),
        "calendar_enabled": True,
        "api_version": 81,
        "backseat_token": None,
        "backseat_token_updated_at": None,
        "ble_autopair_enrolled": False,
        "command_signing": str(car.command_signing),
    }


def _full_vehicle_data(car: VirtualCar) -> dict[str, Any]:
    """Every section of vehicle_data, location included, as the car reports it now."""
    wall = car.wall_clock()
    ts = int(wall * 1000)
    charging = car.charging
    amps = car.charge_current_request if charging else 0
    windows = car.windows
    tpms_seen = int(wall)
    data = _summary(car, "online")
    data["charge_state"] = {
        "battery_heater_on": False,
        "battery_level": car.battery_level,
        "battery_range": car.battery_range_mi,
        "charge_amps": car.charge_current_request,
        "charge_current_request": car.charge_current_request,
        "charge_current_request_max": car.charge_current_request_max,
        "charge_enable_request": charging,
        "charge_energy_added": 0.0,
        "charge_limit_soc": car.charge_limit_soc,
        "charge_limit_soc_max": 100,
        "charge_limit_soc_min": 50,
        "charge_limit_soc_std": 80,
        "charge_miles_added_ideal": 0.0,
        "charge_miles_added_rated": 0.0,
        "charge_port_cold_weather_mode": False,
        "charge_port_color": "Off",
        "charge_port_door_open": car.charge_port_door_open,
        "charge_port_latch": car.charge_port_latch,
        "charge_rate": car.charge_rate_mph,
        "charger_actual_current": amps,
        "charger_phases": 3 if charging else None,
        "charger_pilot_current": car.charge_current_request_max,
        "charger_power": car.charger_power_kw,
        "charger_voltage": 230 if charging else 0,
        "charging_state": car.charging_state,
        "conn_charge_cable": "IEC" if car.cable_connected else "<invalid>",
        "est_battery_range": round(car.battery_range_mi * 0.9, 2),
        "fast_charger_brand": "<invalid>",
        "fast_charger_present": False,
        "fast_charger_type": "ACSingleWireCAN" if car.cable_connected else "<invalid>",
        "ideal_battery_range": car.battery_range_mi,
        "max_range_charge_counter": 0,
        "minutes_to_full_charge": round(car.time_to_full_charge_h * 60),
        "not_enough_power_to_heat": None,
        "off_peak_charging_enabled": False,
        "preconditioning_enabled": False,
        "scheduled_charging_mode": "Off",
        "scheduled_charging_pending": False,
        "scheduled_charging_start_time": None,
        "time_to_full_charge": car.time_to_full_charge_h,
        "timestamp": ts,
        "trip_charging": False,
        "usable_battery_level": car.battery_level,
        "user_charge_enable_request": None,
    }
    data["climate_state"] = {
        "allow_cabin_overheat_protection": True,
        "auto_seat_climate_left": False,
        "auto_seat_climate_right": False,
        "battery_heater": False,
        "battery_heater_no_power": None,
        "cabin_overheat_protection": "On",
        "climate_keeper_mode": "off",
        "defrost_mode": 0,
        "driver_temp_setting": car.driver_temp_setting_c,
        "fan_status": 3 if car.climate_on else 0,
        "inside_temp": car.inside_temp_c,
        "is_auto_conditioning_on": car.climate_on,
        "is_climate_on": car.climate_on,
        "is_front_defroster_on": False,
        "is_preconditioning": False,
        "is_rear_defroster_on": False,
        "max_avail_temp": 28.0,
        "min_avail_temp": 15.0,
        "outside_temp": car.outside_temp_c,
        "passenger_temp_setting": car.passenger_temp_setting_c,
        "remote_heater_control_enabled": car.climate_on,
        "seat_heater_left": 0,
        "seat_heater_right": 0,
        "side_mirror_heaters": False,
        "steering_wheel_heater": False,
        "timestamp": ts,
        "wiper_blade_heater": False,
    }
    data["drive_state"] = {
        "active_route_latitude": car.latitude,
        "active_route_longitude": car.longitude,
        "active_route_traffic_minutes_delay": 0.0,
        "gps_as_of": int(wall),
        "heading": car.heading,
        "latitude": car.latitude,
        "longitude": car.longitude,
        "native_latitude": car.latitude,
        "native_location_supported": 1,
        "native_longitude": car.longitude,
        "native_type": "wgs",
        "power": 0,
        "shift_state": car.shift_state,
        "speed": car.speed_mph,
        "timestamp": ts,
    }
    data["gui_settings"] = {
        "gui_24_hour_time": True,
        "gui_charge_rate_units": "km/hr",
        "gui_distance_units": "km/hr",
        "gui_range_display": "Rated",
        "gui_temperature_units": "C",
        "gui_tirepressure_units": "Bar",
        "show_range_units": False,
        "timestamp": ts,
    }
    data["vehicle_config"] = {
        "can_accept_navigation_requests": True,
        "can_actuate_trunks": True,
        "car_special_type": "base",
        "car_type": "model3",
        "charge_port_type": "CCS",
        "cop_user_set_temp_supported": True,
        "eu_vehicle": True,
        "exterior_color": "MidnightSilver",
        "has_air_suspension": False,
        "has_ludicrous_mode": False,
        "has_seat_cooling": False,
        "motorized_charge_port": True,
        "plg": True,
        "rear_seat_heaters": 1,
        "rhd": False,
        "roof_color": "RoofColorGlass",
        "sentry_preview_available": None,
        "third_row_seats": "None",
        "timestamp": ts,
        "trim_badging": "74d",
        "use_range_badging": True,
        "utc_offset": 3600,
        "wheel_type": "Pinwheel18CapKit",
    }
    data["vehicle_state"] = {
        "api_version": 81,
        "autopark_state_v3": "standby",
        "calendar_supported": True,
        "car_version": car.car_version,
        "center_display_state": 0,
        "dashcam_clip_save_available": False,
        "dashcam_state": "Recording" if car.sentry_mode else "Unavailable",
        "df": car.doors["df"],
        "dr": car.doors["dr"],
        "fd_window": windows["fd"],
        "feature_bitmask": "fbdffbff,7f",
        "fp_window": windows["fp"],
        "ft": int(car.frunk_open),
        "is_user_present": car.user_present,
        "locked": car.locked,
        "media_info": {"media_playback_status": "Stopped", "now_playing_source": "Spotify"},
        "notifications_supported": True,
        "odometer": car.odometer_mi,
        "parsed_calendar_supported": True,
        "pf": car.doors["pf"],
        "pr": car.doors["pr"],
        "rd_window": windows["rd"],
        "remote_start": False,
        "remote_start_enabled": True,
        "remote_start_supported": True,
        "rp_window": windows["rp"],
        "rt": int(car.trunk_open),
        "santa_mode": 0,
        "sentry_mode": car.sentry_mode,
        "sentry_mode_available": True,
        "software_update": {
            "download_perc": 0,
            "expected_duration_sec": 2700,
            "install_perc": 1,
            "status": "",
            "version": " ",
        },
        "speed_limit_mode": {
            "active": False,
            "current_limit_mph": 85.0,
            "max_limit_mph": 120,
            "min_limit_mph": 50.0,
            "pin_code_set": False,
        },
        "timestamp": ts,
        "tpms_hard_warning_fl": False,
        "tpms_hard_warning_fr": False,
        "tpms_hard_warning_rl": False,
        "tpms_hard_warning_rr": False,
        "tpms_last_seen_pressure_time_fl": tpms_seen,
        "tpms_last_seen_pressure_time_fr": tpms_seen,
        "tpms_last_seen_pressure_time_rl": tpms_seen,
        "tpms_last_seen_pressure_time_rr": tpms_seen,
        "tpms_pressure_fl": car.tpms_bar["fl"],
        "tpms_pressure_fr": car.tpms_bar["fr"],
        "tpms_pressure_rl": car.tpms_bar["rl"],
        "tpms_pressure_rr": car.tpms_bar["rr"],
        "tpms_rcp_front_value": 2.9,
        "tpms_rcp_rear_value": 2.9,
        "tpms_soft_warning_fl": False,
        "tpms_soft_warning_fr": False,
        "tpms_soft_warning_rl": False,
        "tpms_soft_warning_rr": False,
        "valet_mode": False,
        "valet_pin_needed": True,
        "vehicle_name": car.display_name,
        "vehicle_self_test_progress": 0,
        "vehicle_self_test_requested": False,
        "webcam_available": True,
    }
    return data


def _select(full: dict[str, Any], endpoints: frozenset[str] | None) -> dict[str, Any]:
    """Keep the sections asked for; location only when location_data is among them."""
    wanted = (
        frozenset(DATA_SECTIONS)
        if endpoints is None
        else endpoints | ({"drive_state"} if LOCATION_DATA in endpoints else frozenset[str]())
    )
    with_location = endpoints is not None and LOCATION_DATA in endpoints
    data: dict[str, Any] = {}
    for key, value in full.items():
        if key not in DATA_SECTIONS:
            data[key] = value
        elif key in wanted:
            data[key] = (
                dict(value)
                if key != "drive_state" or with_location
                else {k: v for k, v in value.items() if k not in LOCATION_KEYS}
            )
    return data


def _parse_endpoints(raw: str | None) -> frozenset[str] | None:
    if not raw:
        return None
    return frozenset(part.strip() for part in raw.replace(",", ";").split(";") if part.strip())


def _bound_socket(host: str, port: int) -> socket.socket:
    """Bind a TCP socket without listening: connections to it are refused until it listens."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _TokenIssuer:
    """Issues and checks OAuth tokens shaped like Tesla's (JWTs signed with a local key)."""

    def __init__(
        self,
        clock: Clock,
        wall_clock: Clock,
        lifetime_s: float,
        audience: str,
        secret: bytes | None = None,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self.lifetime_s = lifetime_s
        self.audience = audience
        self._persistent = secret is not None
        self._key = (
            secrets.token_bytes(32) if secret is None else hashlib.sha256(b"key" + secret).digest()
        )
        account = secrets.token_hex(8) if secret is None else hashlib.sha256(secret).hexdigest()
        self._subject = f"{account[:8]}-{account[8:12]}-sim-{account[12:24]}"
        self._access: dict[str, _AccessToken] = {}
        self._refresh: set[str] = set()
        self._revoked_refresh: set[str] = set()
        self._codes: dict[str, _AuthCode] = {}
        self.latest_access = ""
        self.latest_refresh = ""

    def _jwt(self, claims: dict[str, Any]) -> str:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    def issue(self, scopes: Sequence[str] = DEFAULT_SCOPES) -> dict[str, Any]:
        """Issue a new access, refresh and id token and return the token endpoint's answer."""
        now = int(self._wall_clock())
        lifetime = int(self.lifetime_s)
        claims = {
            "iss": "https://auth.tesla.com/oauth2/v3/nts",
            "azp": CLIENT_ID,
            "sub": self._subject,
            "aud": [self.audience, "https://auth.tesla.com/oauth2/v3/userinfo"],
            "scp": list(scopes),
            "amr": ["pwd"],
            "exp": now + lifetime,
            "iat": now,
            "ou_code": REGION.upper(),
            "locale": "en-US",
            "jti": secrets.token_hex(8),
        }
        access = self._jwt(claims)
        remember_secret(access, "access token")
        self._access[access] = _AccessToken(self._clock() + self.lifetime_s)
        nonce = secrets.token_urlsafe(32)
        tag = _b64url(hmac.new(self._key, nonce.encode(), hashlib.sha256).digest())
        refresh = f"{REGION.upper()}_{nonce}.{tag}"
        remember_secret(refresh, "refresh token")
        self._refresh.add(refresh)
        self.latest_access, self.latest_refresh = access, refresh
        id_token = self._jwt(
            {
                "iss": claims["iss"],
                "aud": CLIENT_ID,
                "sub": self._subject,
                "exp": claims["exp"],
                "iat": now,
                "email": "owner@example.com",
            }
        )
        return {
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
            "expires_in": lifetime,
            "state": None,
            "token_type": "Bearer",
        }

    def valid(self, token: str) -> bool:
        """Whether an access token is known, not revoked and not expired."""
        grant = self._access.get(token)
        return grant is not None and not grant.revoked and self._clock() < grant.expires_at

    def known(self, token: str) -> bool:
        """Whether this simulator issued the token (before a restart too, when persistent)."""
        if token in self._access:
            return True
        if not self._persistent or (claims := self._verified_claims(token)) is None:
            return False
        remaining = float(claims.get("exp", 0)) - self._wall_clock()
        self._access[token] = _AccessToken(self._clock() + remaining)
        return True

    def _verified_claims(self, token: str) -> dict[str, Any] | None:
        header, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        expected = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not signature or not hmac.compare_digest(_b64url(expected), signature):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        return claims if isinstance(claims, dict) else None

    def revoke_all_access(self) -> None:
        """Make every access token issued so far stop working."""
        for grant in self._access.values():
            grant.revoked = True

    def revoke_all_refresh(self) -> None:
        """Make every refresh token issued so far stop working."""
        self._revoked_refresh |= self._refresh
        self._refresh.clear()

    def current_access(self) -> str:
        """Return the latest access token, or a new one when it no longer works."""
        if not self.latest_access or not self.valid(self.latest_access):
            self.issue()
        return self.latest_access

    def new_code(self, redirect_uri: str, scopes: tuple[str, ...]) -> str:
        """Issue a one-time authorization code."""
        code = f"{REGION.upper()}_{secrets.token_hex(32)}"
        self._codes[code] = _AuthCode(redirect_uri, scopes)
        return code

    def redeem_code(self, code: str) -> _AuthCode | None:
        """Use up an authorization code."""
        return self._codes.pop(code, None)

    def refresh_known(self, token: str) -> bool:
        """Whether a refresh token was issued here (before a restart too, when persistent)."""
        if token in self._refresh:
            return True
        if token in self._revoked_refresh:
            return False
        nonce, _, tag = token.removeprefix(f"{REGION.upper()}_").partition(".")
        expected = _b64url(hmac.new(self._key, nonce.encode(), hashlib.sha256).digest())
        return self._persistent and bool(tag) and hmac.compare_digest(expected, tag)


class FleetApiSimulator:
    """An aiohttp server that answers like Tesla's Fleet API for virtual cars.

    Faults are switched with set_fault/clear_fault from the server's event loop.
    """

    client_id: Final = CLIENT_ID
    client_secret: Final = CLIENT_SECRET

    def __init__(
        self,
        cars: VirtualCar | Sequence[VirtualCar],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        token_lifetime_s: float = 8 * 3600,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        secret: bytes | None = None,
        application_public_key: bytes | None = None,
    ) -> None:
        """Prepare a server for the cars; nothing listens before start().

        With a secret, the account and its tokens survive a restart of the simulator (the demo).
        `application_public_key` is the application's own key (see `fleet_status`).
        """
        self._cars: dict[str, VirtualCar] = {
            car.vin: car for car in ([cars] if isinstance(cars, VirtualCar) else cars)
        }
        self._by_id = {str(vehicle_id_for(vin)): car for vin, car in self._cars.items()}
        self.host = host
        self.port = port
        self.latency_s = latency_s
        self._clock = clock
        self.fault = FaultKind.NONE
        self.fault_params: dict[str, float] = {}
        self.billing = Billing()
        self.requests: list[RequestRecord] = []
        self._tokens = _TokenIssuer(clock, wall_clock, token_lifetime_s, "", secret)
        self._stale: dict[str, dict[str, Any]] = {}
        self.signing = CloudSigning(application_public_key)
        self.alter_signed_replies: Callable[[RoutableMessage], RoutableMessage] | None = None
        """While set, someone between the car and the client changes each `signed_command`
        answer: what the client receives is this function's result (a forged or altered reply;
        the car itself ran what it ran)."""
        """Each car's verifier for `signed_command`, and the application's key."""
        self._release = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._servers: list[asyncio.Server] = []
        self._reserved: socket.socket | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._pending_sock: socket.socket | None = None
        self._fillers: list[socket.socket] = []
        self._fault_since = clock()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- public surface ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where the API answers, without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def alternate_base_url(self) -> str:
        """The other region's base URL, which OUT_OF_REGION's 421 names: ALTERNATE_PREFIX."""
        return f"{self.base_url}{ALTERNATE_PREFIX}"

    @property
    def application_public_key(self) -> bytes | None:
        """The application's public key (65-byte uncompressed P-256), None until told."""
        return self.signing.application_public_key

    @application_public_key.setter
    def application_public_key(self, key: bytes | None) -> None:
        self.signing.application_public_key = key

    def attach_ble_car(self, ble_car: BleCar) -> None:
        """Answer `signed_command` for its car with this verifier, as its Bluetooth face does."""
        if self._cars.get(ble_car.car.vin) is not ble_car.car:
            raise ValueError("that car is not on this account")
        self.signing.attach(ble_car)

    def ble_car(self, vin: str) -> BleCar:
        """Return a car's verifier, booting one with a generated car key if none is attached."""
        return self.signing.ble_car(self._cars[vin])

    def enroll_application_key(self, vin: str, public_key: bytes | None = None) -> None:
        """Add the application's key to a car as the owner opening `https://tesla.com/_ak/<domain>`.

        A Fleet Manager key: it signs `signed_command` but not Bluetooth commands. Without
        `public_key`, `application_public_key` is used.
        """
        self.signing.enroll_application_key(self._cars[vin], public_key)

    @property
    def access_token(self) -> str:
        """A currently valid access token (issued afresh once the previous one stops working)."""
        return self._tokens.current_access()

    @property
    def refresh_token(self) -> str:
        """The refresh token issued last."""
        if not self._tokens.latest_refresh:
            self._tokens.issue()
        return self._tokens.latest_refresh

    @property
    def token_lifetime_s(self) -> float:
        """How long an access token works."""
        return self._tokens.lifetime_s

    @property
    def cars(self) -> list[VirtualCar]:
        """The cars this account owns."""
        return list(self._cars.values())

    def car(self, vin: str) -> VirtualCar:
        """Return the car with this VIN."""
        return self._cars[vin]

    def add_car(self, car: VirtualCar) -> None:
        """Add a car to the account."""
        self._cars[car.vin] = car
        self._by_id[str(vehicle_id_for(car.vin))] = car

    def remove_car(self, vin: str) -> None:
        """Take a car off the account."""
        del self._cars[vin]
        self.signing.detach(vin)
        self._by_id.pop(str(vehicle_id_for(vin)), None)

    def expire_access_tokens(self) -> None:
        """Expire every access token issued so far, as their 8 hours ending does; refresh works."""
        self._tokens.revoke_all_access()

    def revoke_all_tokens(self) -> None:
        """Revoke every access and refresh token issued so far: only a new sign-in helps."""
        self._tokens.revoke_all_access()
        self._tokens.revoke_all_refresh()

    def set_fault(self, kind: FaultKind, **params: float) -> None:
        """Switch to a fault (replacing the current one) with its parameters."""
        previous = self.fault
        self.fault = FaultKind(kind)
        self.fault_params = dict(params)
        if previous is not self.fault:
            self._release.set()
            self._release = asyncio.Event()
            self._fault_since = self._clock()
        if self.fault is FaultKind.STALE_DATA and previous is not FaultKind.STALE_DATA:
            self._stale = {vin: _full_vehicle_data(car) for vin, car in self._cars.items()}
        elif self.fault is not FaultKind.STALE_DATA:
            self._stale = {}
        if self.fault in (FaultKind.TOKEN_EXPIRED, FaultKind.TOKEN_REVOKED):
            self._tokens.revoke_all_access()
        if self.fault is FaultKind.TOKEN_REVOKED:
            self._tokens.revoke_all_refresh()
        if self._runner is None or previous is self.fault:
            return
        if previous is FaultKind.CONNECT_TIMEOUT:
            self._stop_hanging()
        if self.fault in NOT_LISTENING and previous not in NOT_LISTENING:
            self._refuse()
        elif previous in NOT_LISTENING and self.fault not in NOT_LISTENING:
            self._listen_again()
        if self.fault is FaultKind.CONNECT_TIMEOUT:
            self._hang()

    def clear_fault(self) -> None:
        """Answer normally again."""
        self.set_fault(FaultKind.NONE)

    async def start(self) -> None:
        """Listen on the host and port (a free one when port is 0)."""
        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        self._add_routes(app)
        alternate = web.Application()
        self._add_routes(alternate)
        app.add_subapp(ALTERNATE_PREFIX, alternate)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await self._runner.setup()
        sock = _bound_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._tokens.audience = self.base_url
        if self.fault in NOT_LISTENING:
            self._reserved = sock
            if self.fault is FaultKind.CONNECT_TIMEOUT:
                self._hang()
        else:
            sock.listen(BACKLOG)
            await self._serve(sock)

    async def stop(self) -> None:
        """Stop listening, drop held requests and close every connection."""
        self._release.set()
        self._stop_hanging()
        for task in list(self._inflight):
            task.cancel()
        if self._listen_task is not None:
            await asyncio.gather(self._listen_task, return_exceptions=True)
            self._listen_task = None
        for server in self._servers:
            server.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = None

    # -- listening -----------------------------------------------------------------------------

    async def _serve(self, sock: socket.socket) -> None:
        assert self._runner is not None
        assert self._runner.server is not None
        loop = asyncio.get_running_loop()
        self._pending_sock = None
        self._servers.append(await loop.create_server(self._runner.server, sock=sock))
        self._listen_task = None
        if self.fault in NOT_LISTENING:
            self._refuse()
            if self.fault is FaultKind.CONNECT_TIMEOUT:
                self._hang()

    def _refuse(self) -> None:
        """Stop listening and drop connections, keeping the port bound so nothing else takes it."""
        assert self._runner is not None
        assert self._runner.server is not None
        for server in self._servers:
            server.close()
        for connection in self._runner.server.connections:
            connection.force_close()
        if self._listen_task is not None and self._pending_sock is not None:
            self._listen_task.cancel()
            self._listen_task = None
            self._pending_sock.close()
            self._pending_sock = None
        if self._listen_task is None and self._reserved is None:
            self._reserved = _bound_socket(self.host, self.port)

    def _hang(self) -> None:
        """Listen without ever accepting, the queue already full: connections never complete."""
        if self._reserved is None or self._fillers:
            return
        self._reserved.listen(0)
        filler = socket.socket(self._reserved.family, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(self._reserved.getsockname()[:2])
        self._fillers.append(filler)

    def _stop_hanging(self) -> None:
        """Give up the connection that fills the queue, and the listening socket behind it."""
        if not self._fillers:
            return
        for filler in self._fillers:
            filler.close()
        self._fillers.clear()
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = _bound_socket(self.host, self.port)

    def _listen_again(self) -> None:
        assert self._loop is not None
        if self._listen_task is not None:
            return
        sock = self._reserved or _bound_socket(self.host, self.port)
        self._reserved = None
        sock.listen(BACKLOG)
        self._pending_sock = sock
        self._listen_task = self._loop.create_task(self._serve(sock))

    # -- request pipeline ----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        record = RequestRecord(
            request.method, request.path, None, self._clock(), request.query_string
        )
        self.requests.append(record)
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            response = await self._answer(request, handler)
        finally:
            if task is not None:
                self._inflight.discard(task)
        if response is None:
            return self._drop(request)
        record.status = response.status
        charge = PRICING[self._endpoint(request)] if response.status < 500 else None
        self.billing.add(charge, self._endpoint(request))
        return response

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse | None:
        """Answer a request as the current fault allows; None means no answer at all."""
        endpoint = self._endpoint(request)
        if self.fault is FaultKind.BLACK_HOLE:
            self.billing.add(None, endpoint)
            await self._hold()
            return None
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if self.fault is FaultKind.SLOW:
            await asyncio.sleep(self.fault_params.get("slow_s", DEFAULT_SLOW_S))
        if self.fault is FaultKind.HTML_ERROR:
            return self._load_balancer_page()
        if self.fault is FaultKind.SERVER_ERROR or self._flapped_down():
            return self._unavailable(endpoint, self._error_status())
        if endpoint not in UNAUTHENTICATED:
            denied = self._authenticate(request)
            if denied is not None:
                return denied
        if self.fault is FaultKind.RATE_LIMITED and endpoint not in UNAUTHENTICATED:
            retry_after = str(round(self.fault_params.get("retry_after_s", DEFAULT_RETRY_AFTER_S)))
            return _error(
                429,
                "Too many requests",
                **{"Retry-After": retry_after, "RateLimit-Reset": retry_after},
            )
        if endpoint in DOWN_IN.get(self.fault, frozenset()):
            return self._unavailable(endpoint)
        route = request.match_info.route.name
        if self.fault is FaultKind.VEHICLE_OFFLINE and route in REACHES_CAR:
            return _offline()
        if endpoint not in UNAUTHENTICATED and (refusal := self._refusal(request)) is not None:
            return refusal
        if route in CAR_FAULTS.get(self.fault, frozenset()):
            if self.fault_params.get("ran"):
                await handler(request)
            if self.fault is FaultKind.CAR_UNREACHABLE:
                return fleet_faults.car_unreachable()
            return fleet_faults.car_error()
        response = await handler(request)
        if endpoint is Endpoint.COMMAND and self.fault is FaultKind.COMMAND_TIMEOUT_AFTER_EXECUTE:
            self.billing.add(PRICING[endpoint], endpoint)
            await self._hold()
            return None
        if endpoint not in UNAUTHENTICATED and isinstance(response, web.Response):
            if self.fault is FaultKind.MALFORMED_JSON:
                return _cut_short(response)
            if self.fault is FaultKind.MISSING_FIELDS:
                return _without_fields(response)
        return response

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Return the account-level refusal the current fault gives this request, if any."""
        route = request.match_info.route.name or ""
        endpoint = self._endpoint(request)
        if (every_call := EVERY_CALL_FAULTS.get(self.fault)) is not None:
            return every_call()
        if self.fault is FaultKind.MISSING_SCOPES and endpoint is Endpoint.DATA:
            return fleet_faults.missing_scopes()
        if self.fault is FaultKind.UNREGISTERED_REGION and route in REGION_SENSITIVE:
            return fleet_faults.unregistered_in_region(CLIENT_ID, self._request_base(request))
        if (
            self.fault is FaultKind.OUT_OF_REGION
            and route != "account:region"
            and not _in_alternate_region(request)
        ):
            return fleet_faults.out_of_region(self.alternate_base_url)
        return None

    def _request_base(self, request: web.Request) -> str:
        """Return the base URL a request was sent to: the main one or the alternate region's."""
        return self.alternate_base_url if _in_alternate_region(request) else self.base_url

    def _flapped_down(self) -> bool:
        """Whether a flapping cloud is in one of its down spells (it starts with one)."""
        if self.fault is not FaultKind.FLAPPING:
            return False
        period = self.fault_params.get("period_s", DEFAULT_FLAP_PERIOD_S)
        return int((self._clock() - self._fault_since) // period) % 2 == 0

    def _error_status(self) -> int:
        return int(self.fault_params.get("status", DEFAULT_ERROR_STATUS))

    def _load_balancer_page(self) -> web.Response:
        status = int(self.fault_params.get("status", DEFAULT_HTML_STATUS))
        return web.Response(
            status=status, text=LOAD_BALANCER_PAGE.format(status=status), content_type="text/html"
        )

    @staticmethod
    def _endpoint(request: web.Request) -> Endpoint:
        name = request.match_info.route.name
        return Endpoint(name.split(":")[0]) if name else Endpoint.OTHER

    @staticmethod
    def _unavailable(endpoint: Endpoint, status: int = DEFAULT_ERROR_STATUS) -> web.Response:
        if endpoint is Endpoint.STATUS:
            return web.Response(status=status, text="service unavailable")
        return _error(status, "upstream internal error")

    def _authenticate(self, request: web.Request) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token or not self._tokens.known(token):
            return _error(401, "invalid bearer token")
        if not self._tokens.valid(token):
            return _error(401, "token expired (401)")
        return None

    async def _hold(self) -> None:
        """Keep the request unanswered until the fault changes or the server stops."""
        await self._release.wait()

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without an answer."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=599)

    def _add_routes(self, app: web.Application) -> None:
        vehicle = "/api/1/vehicles/{vin}"
        app.router.add_get("/status", self._status, name="status")
        app.router.add_post(
            "/api/1/vehicles/fleet_status", self._fleet_status, name="data:fleet_status"
        )
        app.router.add_get("/oauth2/v3/authorize", self._authorize, name="oauth:authorize")
        app.router.add_post("/oauth2/v3/token", self._token, name="oauth:token")
        app.router.add_get("/api/1/users/region", self._region, name="account:region")
        app.router.add_get("/api/1/users/me", self._me, name="account:me")
        app.router.add_get("/api/1/products", self._products, name="data:products")
        app.router.add_get("/api/1/vehicles", self._vehicles, name="data:vehicles")
        app.router.add_get(vehicle, self._vehicle, name="state:vehicle")
        app.router.add_get(f"{vehicle}/vehicle_data", self._vehicle_data, name="data:vehicle_data")
        app.router.add_post(f"{vehicle}/wake_up", self._wake_up, name="wake:wake_up")
        app.router.add_post(f"{vehicle}/command/{{command}}", self._command, name="command:run")
        app.router.add_post(
            f"{vehicle}/signed_command", self._signed_command, name="command:signed"
        )

    # -- handlers ------------------------------------------------------------------------------

    async def _status(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID:
            return _error(400, "unauthorized_client")
        if not redirect_uri:
            return _error(400, "invalid_redirect_url")
        if query.get("response_type", "code") != "code":
            return _error(400, "invalid_request")
        scopes = tuple(query.get("scope", " ".join(DEFAULT_SCOPES)).replace("+", " ").split())
        code = self._tokens.new_code(redirect_uri, scopes)
        answer = {"code": code, "state": query.get("state", ""), "issuer": "sim"}
        separator = "&" if "?" in redirect_uri else "?"
        location = f"{redirect_uri}{separator}{urlencode(answer)}"
        return web.Response(status=302, headers={"Location": location})

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form: dict[str, Any]
        if request.content_type == "application/json":
            try:
                form = dict(await request.json())
            except (ValueError, TypeError):
                return _error(400, "invalid_request")
        else:
            form = dict(await request.post())
        if form.get("client_id") != CLIENT_ID:
            return _error(400, "unauthorized_client")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            if form.get("client_secret") != CLIENT_SECRET:
                return _error(400, "unauthorized_client")
            grant = self._tokens.redeem_code(str(form.get("code", "")))
            if grant is None:
                return _error(400, "invalid_auth_code")
            if form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
                return _error(400, "invalid_redirect_url")
            return web.json_response(self._tokens.issue(grant.scopes or DEFAULT_SCOPES))
        if grant_type == "refresh_token":
            if not self._tokens.refresh_known(str(form.get("refresh_token", ""))):
                return web.json_response(
                    {
                        "error": "login_required",
                        "error_description": "The refresh_token is invalid",
                    },
                    status=401,
                )
            return web.json_response(self._tokens.issue())
        return _error(400, "invalid_request")

    async def _region(self, request: web.Request) -> web.StreamResponse:
        """Name the user's region: the alternate one under OUT_OF_REGION or when asked there."""
        if self.fault is FaultKind.OUT_OF_REGION or _in_alternate_region(request):
            region, base_url = ALTERNATE_REGION, self.alternate_base_url
        else:
            region, base_url = REGION, self.base_url
        return web.json_response({"response": {"region": region, "fleet_api_base_url": base_url}})

    async def _me(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "response": {
                    "email": "owner@example.com",
                    "full_name": "Simulated Owner",
                    "profile_image_url": f"{self.base_url}/profile.png",
                    "vault_uuid": "00000000-0000-4000-8000-000000000001",
                }
            }
        )

    def _listing(self) -> list[dict[str, Any]]:
        return [_summary(car, car.state) for car in self._cars.values()]

    async def _products(self, request: web.Request) -> web.StreamResponse:
        products = self._listing()
        return web.json_response({"response": products, "count": len(products)})

    async def _vehicles(self, request: web.Request) -> web.StreamResponse:
        vehicles = self._listing()
        pagination = {
            "previous": None,
            "next": None,
            "current": 1,
            "per_page": max(len(vehicles), 1),
            "count": len(vehicles),
            "pages": 1,
        }
        return web.json_response(
            {"response": vehicles, "pagination": pagination, "count": len(vehicles)}
        )

    def _find(self, request: web.Request) -> VirtualCar | None:
        tag = request.match_info["vin"]
        return self._cars.get(tag) or self._by_id.get(tag)

    async def _vehicle(self, request: web.Request) -> web.StreamResponse:
        if (car := self._find(request)) is None:
            return _error(404, "not_found")
        return web.json_response({"response": _summary(car, car.state)})

    async def _vehicle_data(self, request: web.Request) -> web.StreamResponse:
        if (car := self._find(request)) is None:
            return _error(404, "not_found")
        endpoints = _parse_endpoints(request.query.get("endpoints"))
        if (stale := self._stale.get(car.vin)) is not None:
            return web.json_response({"response": _select(stale, endpoints)})
        try:
            car.require_awake()
        except CarAsleep:
            return _offline()
        car.data_request()
        return web.json_response({"response": _select(_full_vehicle_data(car), endpoints)})

    async def _wake_up(self, request: web.Request) -> web.StreamResponse:
        if (car := self._find(request)) is None:
            return _error(404, "not_found")
        if self.fault is FaultKind.VEHICLE_OFFLINE:
            return web.json_response({"response": _summary(car, "offline")})
        return web.json_response({"response": _summary(car, car.wake("cloud"))})

    async def _command(self, request: web.Request) -> web.StreamResponse:
        if (car := self._find(request)) is None:
            return _error(404, "not_found")
        name = request.match_info["command"]
        if name not in COMMANDS:
            return _error(400, "invalid_command")
        params: Any = {}
        if request.can_read_body:
            try:
                params = await request.json()
            except ValueError:
                return _error(400, "invalid_request")
        if not isinstance(params, dict):
            return _error(400, "invalid_request")
        if car.command_signing is CommandSigning.REQUIRED:
            return self._unsigned_refused(car)
        try:
            car.execute(name, params, via="cloud")
        except CarAsleep:
            return _offline()
        except CommandError as err:
            return web.json_response({"response": {"result": False, "reason": err.reason}})
        return web.json_response({"response": {"result": True, "reason": ""}})

    def _unsigned_refused(self, car: VirtualCar) -> web.Response:
        """Refuse a plain REST command to a car that requires signing.

        Tesla's server answers the 403 without asking the car; the 200 form is the car's own
        answer, so it needs the car awake.
        """
        if self.fault is not FaultKind.UNSIGNED_HARDLOCKED:
            return fleet_faults.vcp_required()
        try:
            car.require_awake()
        except CarAsleep:
            return _offline()
        return fleet_faults.unsigned_hardlocked()

    async def _signed_command(self, request: web.Request) -> web.StreamResponse:
        """Relay a RoutableMessage to the car's verifier and answer with the car's reply.

        HTTP 200 means the car answered, whatever it said (developer.tesla.com/docs/fleet-api
        `signed_command`; vehicle-command `pkg/connector/inet/inet.go`). An asleep car is 408
        as on every vehicle endpoint; a car that gives no answer is the harsher 503 (the
        command may or may not have run).
        """
        if (car := self._find(request)) is None:
            return _error(404, "not_found")
        try:
            message = decode_routable(await request.json())
        except (ValueError, InvalidSignedCommand):
            return _error(400, "invalid_request")
        if car.command_signing is CommandSigning.OFF:
            return fleet_faults.unsupported_vehicle()
        try:
            car.require_awake()
        except CarAsleep:
            return _offline()
        if self.fault is FaultKind.INFOTAINMENT_OFFLINE and _to_infotainment(message):
            return fleet_faults.infotainment_offline()
        try:
            reply = self.signing.ble_car(car).cloud_exchange(message)
        except ValueError:
            return _error(400, "invalid_request")
        if reply is None:
            return fleet_faults.car_unreachable()
        if self.alter_signed_replies is not None:
            reply = self.alter_signed_replies(reply)
        return web.json_response({"response": encode_routable(reply)})

    async def _fleet_status(self, request: web.Request) -> web.StreamResponse:
        """Answer which of the VINs asked about carry the application's key (CloudSigning)."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_request")
        vins = body.get("vins") if isinstance(body, dict) else None
        if not isinstance(vins, list) or not all(isinstance(vin, str) for vin in vins):
            return _error(400, "invalid_request")
        return web.json_response({"response": self.signing.fleet_status(self._cars, vins)})


def _in_alternate_region(request: web.Request) -> bool:
    return request.path.startswith(f"{ALTERNATE_PREFIX}/")


def _to_infotainment(message: bytes) -> bool:
    """Whether a RoutableMessage is addressed to the car's infotainment domain."""
    routable = RoutableMessage()
    try:
        routable.ParseFromString(message)
    except DecodeError:  # the verifier refuses what does not parse
        return False
    return bool(routable.to_destination.domain == Domain.DOMAIN_INFOTAINMENT)


def _offline() -> web.Response:
    return _error(408, "vehicle unavailable: vehicle is offline or asleep")


def _cut_short(response: web.Response) -> web.Response:
    """Return the same answer with its body cut in half, still labelled JSON."""
    body = response.body if isinstance(response.body, bytes) else b""
    return web.Response(
        status=response.status, body=body[: len(body) // 2], content_type="application/json"
    )


def _without_fields(response: web.Response) -> web.Response:
    """Return the same answer without the fields of MISSING_KEYS in its `response`.

    A `response` that is no object (the car's message of `signed_command`) is lost whole.
    """
    try:
        answer = json.loads(response.body) if isinstance(response.body, bytes) else None
    except ValueError:
        return response
    if not isinstance(answer, dict):
        return response
    inner = answer.get("response")
    if isinstance(inner, str):
        del answer["response"]
    items = inner if isinstance(inner, list) else [inner]
    for item in items:
        if isinstance(item, dict):
            for key in MISSING_KEYS & item.keys():
                del item[key]
    return web.json_response(answer, status=response.status)
