"""Fronts that stand between Home Assistant and the simulated Fleet API as each provider does.

Three providers serve Tesla's Fleet API to their users with their own server in between:

- a self-hosted tesla-http-proxy (teslamotors/vehicle-command `pkg/proxy/proxy.go`): HTTPS with
  the certificate its owner made, Tesla's own OAuth tokens forwarded as given, commands signed
  with the proxy's key;
- Teslemetry and Tessie: their own long-lived tokens, commands signed on their side (core's
  `teslemetry` and `tessie` integrations send them plain REST commands).

Each front forwards what it does not handle itself to the `FleetApiSimulator` behind it, so
Tesla's faults reach the client through it, and can fail on its own while Tesla's side works.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import secrets
import ssl
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from simulator.fleet_api import FleetApiSimulator
from simulator.secrets import remember as remember_secret
from simulator.vehicle import COMMANDS, CarAsleep, CommandError

PROXY_NO_TOKEN: Final = "client did not provide an OAuth token"
"""The proxy's 403 to a request without a bearer token, `/status` among them (`getAccount`)."""
PROXY_CAR_ASLEEP: Final = "vehicle unavailable: vehicle is offline or asleep"
"""`inet.ErrVehicleNotAwake`: the proxy's 500 when the car's session cannot start because the
car sleeps (`handleVehicleCommand` writes it as the body's `error`)."""


SERVICE_TOKEN_ERRORS: Final = {
    "teslemetry": ("missing_token", "invalid_token"),
    "tessie": ("Access token is required", "Invalid access token"),
}
"""The 401 `error` of each service for a missing and for a wrong token: the keys of
tesla-fleet-api's MissingTeslemetryToken, InvalidTeslemetryToken, MissingTessieToken and
InvalidTessieToken (`exceptions.py`)."""
PROVIDER_DOWN_PAGE: Final = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
"""What a provider's own outage answers. No source describes one; the harsher answer is a load
balancer's page that is not JSON, as Tesla's own outages have looked (`fleet_api` HTML_ERROR)."""


class ProviderKind(StrEnum):
    """Which provider a front plays."""

    TESLEMETRY = "teslemetry"
    TESSIE = "tessie"
    PROXY = "proxy"


def self_signed_certificate(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """Make a certificate for `host` signed by its own key; return its PEM and the key's PEM.

    As the tesla-http-proxy add-on and vehicle-command's README have their users do: one
    self-signed certificate, given to the client as the authority to trust. It is marked as an
    authority with the key usages Python's strict verification asks of one.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tesla-http-proxy simulator")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _server_context(
    certificate: bytes, key: bytes
) -> tuple[ssl.SSLContext, tempfile.TemporaryDirectory[str]]:
    """Serve TLS with the certificate; its files live in a folder removed when the front stops."""
    files = tempfile.TemporaryDirectory(prefix="proxy-cert-")
    cert_file, key_file = Path(files.name, "cert.pem"), Path(files.name, "key.pem")
    cert_file.write_bytes(certificate)
    key_file.write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, files


def _error(status: int, error: str) -> web.Response:
    """Answer as vehicle-command's `writeJSONError` does: no response, the error's text."""
    return web.json_response({"response": None, "error": error}, status=status)


class ProviderFront:
    """One provider's server in front of a simulated Tesla account.

    Switch `down` on to play the provider's own outage (its servers answer 503 while Tesla's
    keep working), `requests` lists the paths asked of it.
    """

    def __init__(
        self,
        kind: ProviderKind,
        tesla: FleetApiSimulator,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        certificate: tuple[bytes, bytes] | None = None,
    ) -> None:
        """Front `tesla` as `kind` on `port` (0: a free one); nothing listens before start().

        The proxy serves `certificate` (PEM certificate and key) when given, else one made at
        start.
        """
        self.kind = kind
        self.tesla = tesla
        self.host = host
        self.port = port
        self._certificate = certificate
        self.down = False
        self.unpaid: str | None = None
        """While set, the service answers every authenticated request 402 with this `error`:
        Teslemetry's `subscription_required` or `insufficient_credits` (tesla-fleet-api
        `exceptions.py` reads both from a 402's `error`). Tessie's 402 no source shows; it
        answers the same."""
        self.unsubscribed: set[str] = set()
        """Cars whose own data subscription lapsed: their calls answer 402
        `vehicle_subscription_required` (tesla-fleet-api `VehicleSubscriptionRequired`)."""
        self.requests: list[str] = []
        self.token = ""
        """A Teslemetry or Tessie access token: issued by the service, long-lived."""
        self.ca_pem = ""
        """The proxy's self-signed certificate, to give Home Assistant as the CA to trust."""
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._files: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        """Where the front answers: https for the proxy, http for the services on loopback."""
        scheme = "https" if self.kind is ProviderKind.PROXY else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def issue_token(self) -> str:
        """Issue a new long-lived token of the service (Teslemetry's and Tessie's do not expire)."""
        self.token = secrets.token_urlsafe(32)
        remember_secret(self.token, f"{self.kind} token")
        return self.token

    async def start(self) -> None:
        """Listen on a free loopback port; the proxy on TLS with a certificate made now."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context: ssl.SSLContext | None = None
        if self.kind is ProviderKind.PROXY:
            certificate, key = self._certificate or self_signed_certificate(self.host)
            self.ca_pem = certificate.decode()
            context, self._files = await asyncio.to_thread(_server_context, certificate, key)
        else:
            self.issue_token()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Stop listening and forget the certificate's files."""
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._files is not None:
            self._files.cleanup()
            self._files = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Check the caller's token as the provider does, then answer or forward.

        The proxy takes any bearer token and forwards it to Tesla, and refuses a request
        without one with 403, `/status` included (`ServeHTTP`, `getAccount`). The services
        check their own token (401, their error keys) and use the owner's Tesla token they
        hold; whether they answer `/status` unauthenticated no source says, so they do not.
        """
        self.requests.append(request.path)
        if self.down:
            return web.Response(status=503, text=PROVIDER_DOWN_PAGE, content_type="text/html")
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if self.kind is ProviderKind.PROXY:
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return _error(403, PROXY_NO_TOKEN)
            tesla_token = bearer
        else:
            missing, wrong = SERVICE_TOKEN_ERRORS[self.kind]
            if not bearer:
                return _error(401, missing)
            if not secrets.compare_digest(bearer, self.token):
                return _error(401, wrong)
            tesla_token = self.tesla.access_token
        parts = request.path.strip("/").split("/")
        if self.kind is not ProviderKind.PROXY:
            if self.unpaid is not None:
                return _error(402, self.unpaid)
            vin = parts[3] if parts[:3] == ["api", "1", "vehicles"] and len(parts) > 3 else None
            if vin in self.unsubscribed:
                return _error(402, "vehicle_subscription_required")
        if len(parts) == 6 and parts[:3] == ["api", "1", "vehicles"] and parts[4] == "command":
            return await self._command(request, parts[3], parts[5], tesla_token)
        return await self._forward(request, tesla_token)

    async def _forward(
        self, request: web.Request, tesla_token: str, *, method: str | None = None, path: str = ""
    ) -> web.Response:
        """Ask Tesla's side as the provider does, with Tesla's token, and relay its answer.

        The proxy forwards every other request as it came (`forwardRequest`); core's teslemetry
        and tessie integrations read Tesla's own answers through the services. Tesla not
        answering is the proxy's 502 (`forwardRequest` writes StatusBadGateway).
        """
        assert self._client is not None
        url = f"{self.tesla.base_url}{path or request.path_qs}"
        body = b"" if method else await request.read()
        headers = {"Authorization": f"Bearer {tesla_token}"}
        if request.content_type and body:
            headers["Content-Type"] = request.content_type
        try:
            async with self._client.request(
                method or request.method, url, data=body or None, headers=headers
            ) as answer:
                relayed = {
                    name: answer.headers[name]
                    for name in ("Content-Type", "Retry-After", "RateLimit-Reset")
                    if name in answer.headers
                }
                return web.Response(status=answer.status, body=await answer.read(), headers=relayed)
        except (aiohttp.ClientError, TimeoutError):
            return _error(502, "Bad Gateway")

    async def _command(
        self, request: web.Request, vin: str, name: str, tesla_token: str
    ) -> web.Response:
        """Run a plain REST command on the car as the provider's own signed command.

        The provider first reaches Tesla for the car (so Tesla's outage, a refused token or an
        unknown car answer as Tesla answered them), then the car runs the command as if it
        came through `signed_command` with the provider's key: the proxy answers 500 with
        the car's error text for an asleep car (`handleVehicleCommand`), the services 408
        as Tesla does. A refusal by the car is HTTP 200 with its reason.
        """
        check = await self._forward(
            request, tesla_token, method="GET", path=f"/api/1/vehicles/{vin}"
        )
        if check.status != 200:
            return check
        if name not in COMMANDS:
            return _error(400, "invalid_command")
        params: Any = {}
        if request.can_read_body:
            try:
                params = json.loads(await request.read() or b"{}")
            except ValueError:
                return _error(400, "invalid_request")
        car = self.tesla.car(vin)
        try:
            car.require_awake()
        except CarAsleep:
            if self.kind is ProviderKind.PROXY:
                return _error(500, PROXY_CAR_ASLEEP)
            return _error(408, "vehicle unavailable: vehicle is offline or asleep")
        try:
            car.execute(name, params if isinstance(params, dict) else {}, via="cloud")
        except CommandError as err:
            return web.json_response({"response": {"result": False, "reason": err.reason}})
        return web.json_response({"response": {"result": True, "reason": ""}})
