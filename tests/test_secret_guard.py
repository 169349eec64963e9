"""The secret guard itself: the spellings it knows, the places it watches, and how a leak fails."""

from __future__ import annotations

import base64
import logging
import secrets
from typing import Any

import pytest
import voluptuous as vol
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.config_entries import ConfigEntriesFlowManager
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowManager
from homeassistant.exceptions import HomeAssistantError

from custom_components.tesla_resilient import diagnostics, keys
from simulator import secrets as registry
from tests import secret_guard
from tests.faults import harness
from tests.secret_guard import (
    ACCESS_TOKEN,
    PRIVATE_KEY,
    REFRESH_TOKEN,
    Guard,
    secret_forms,
)

pytest_plugins = ["pytester"]

TOKEN_KIND = f"{ACCESS_TOKEN} (raw)"


@pytest.fixture(autouse=True)
def guard_active(request: pytest.FixtureRequest) -> None:
    """Skip these tests in a run without the guard (`-p no:tests.secret_guard`)."""
    if not request.config.pluginmanager.has_plugin("tests.secret_guard"):
        pytest.skip("the secret guard is not active in this run")


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Guard:
    """A guard of its own, in place of the run's, so that what a test leaks on purpose is kept
    apart from the run's leaks (the run's guard never learns these secrets)."""
    own = Guard(scan_reports=False)
    own.test = "self-test"
    monkeypatch.setattr(secret_guard, "GUARD", own)
    return own


def _token() -> str:
    return f"EU_{secrets.token_urlsafe(32)}.{secrets.token_urlsafe(16)}"


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# -- Spellings ---------------------------------------------------------------------------------


def test_a_token_is_spelled_raw_in_hex_and_in_base64() -> None:
    token = _token()
    data = token.encode()

    forms = secret_forms(token)

    assert forms[token] == "raw"
    assert forms[data.hex()] == "hex"
    assert forms[data.hex().upper()] == "hex (upper case)"
    assert base64.b64encode(data).decode() in forms
    assert base64.b64encode(data).decode().rstrip("=") in forms
    assert base64.urlsafe_b64encode(data).decode() in forms
    assert base64.urlsafe_b64encode(data).decode().rstrip("=") in forms


def test_short_values_are_not_secrets() -> None:
    assert secret_forms("abc") == {}
    assert secret_forms(b"1234567") == {}
    assert secret_forms("x" * 8)


def test_a_private_key_is_spelled_as_pem_der_and_scalar() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = _pem(key)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    forms = secret_forms(pem)

    assert pem.strip() in forms
    assert scalar.hex() in forms
    assert scalar.hex().upper() in forms
    assert base64.b64encode(scalar).decode() in forms
    assert base64.urlsafe_b64encode(scalar).decode().rstrip("=") in forms
    assert der.hex() in forms
    assert base64.b64encode(der).decode() in forms
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    assert body[0] in forms
    assert body[1] in forms
    assert secret_forms(key).keys() <= forms.keys()


def test_the_public_half_of_a_key_is_not_a_secret() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    guard = Guard()
    guard.remember(_pem(key), PRIVATE_KEY)

    assert not guard.find(f"car key {public.hex()} {base64.b64encode(public).decode()}")
    assert not guard.find(repr(public))


def test_a_pem_key_is_found_in_each_of_its_spellings() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = _pem(key)
    guard = Guard()
    guard.remember(pem, PRIVATE_KEY)

    for form, encoding in secret_forms(pem).items():
        found = guard.find(f"stored: {form}, done")
        assert f"{PRIVATE_KEY} ({encoding})" in found, encoding
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    assert guard.find(f"line {body[0]}")
    assert guard.find(f'{{"private_key": {pem!r}}}')


def test_a_token_in_hex_or_base64_is_found() -> None:
    token = _token()
    guard = Guard()
    guard.remember(token, REFRESH_TOKEN)
    data = token.encode()

    assert guard.find(f"body={data.hex()}") == {f"{REFRESH_TOKEN} (hex)"}
    assert guard.find(f"X-Auth: {data.hex().upper()}") == {f"{REFRESH_TOKEN} (hex (upper case))"}
    assert guard.find(f"b64 {base64.b64encode(data).decode()};")
    assert guard.find(f"b64 {base64.urlsafe_b64encode(data).decode().rstrip('=')};")
    assert guard.find(f"Authorization: Bearer {token}") == {f"{REFRESH_TOKEN} (raw)"}
    assert not guard.find(f"Authorization: Bearer {token[:-1]}")


def test_the_run_knows_what_the_simulator_and_the_integration_made() -> None:
    pem = keys.generate_private_key()
    kinds = {value: kind for value, kind in registry.known() if isinstance(value, str)}

    assert kinds[pem] == PRIVATE_KEY
    assert kinds["not-a-token"] == ACCESS_TOKEN
    assert secret_guard.GUARD.find(f"pem: {pem.encode().hex()}") == set()
    assert f"{PRIVATE_KEY} (PEM)" in secret_guard.GUARD.find(pem)


# -- Places watched ----------------------------------------------------------------------------


async def test_a_debug_record_of_a_home_assistant_logger_is_scanned(
    hass: HomeAssistant, guard: Guard
) -> None:
    token = _token()
    guard.remember(token, ACCESS_TOKEN)
    seen = guard.records_seen

    logging.getLogger("custom_components.tesla_resilient.coordinator").debug("token %s", token)
    logging.getLogger("homeassistant.core").debug("hex %s", token.encode().hex())

    assert logging.getLogger("homeassistant.core").isEnabledFor(logging.DEBUG)
    assert guard.records_seen == seen + 2
    assert [(leak.kind, leak.where) for leak in guard.leaks] == [
        (TOKEN_KIND, "a DEBUG log record of custom_components.tesla_resilient.coordinator"),
        (f"{ACCESS_TOKEN} (hex)", "a DEBUG log record of homeassistant.core"),
    ]
    assert all(token not in leak.describe() for leak in guard.leaks)


async def test_an_exception_text_is_scanned(
    hass: HomeAssistant, guard: Guard, caplog: pytest.LogCaptureFixture
) -> None:
    token = _token()
    guard.remember(token, ACCESS_TOKEN)

    async def fail(call: ServiceCall) -> None:
        raise HomeAssistantError(
            translation_domain="tesla_resilient",
            translation_key="whatever",
            translation_placeholders={"token": token},
        )

    hass.services.async_register("guard_test", "fail", fail)
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call("guard_test", "fail", blocking=True)

    assert [leak.where for leak in guard.leaks] == ["a service call (HomeAssistantError)"]


async def test_a_flow_error_is_scanned(guard: Guard) -> None:
    token = _token()
    guard.remember(token, ACCESS_TOKEN)

    async def configure(flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
        raise vol.Invalid(f"cannot use {user_input['access_token']}") from ValueError(flow_id)

    guarded = secret_guard.guard_raised(configure, "a flow step")
    with pytest.raises(vol.Invalid):
        await guarded("abc", {"access_token": token})

    assert [leak.where for leak in guard.leaks] == ["a flow step (Invalid)"]
    assert hasattr(FlowManager.async_configure, "__wrapped__")
    assert hasattr(ConfigEntriesFlowManager.async_init, "__wrapped__")


async def test_a_diagnostics_payload_is_scanned(guard: Guard) -> None:
    token = _token()
    guard.remember(token, ACCESS_TOKEN)

    async def leaky() -> dict[str, Any]:
        return {"entry": {"data": {"token": token}}}

    guarded = secret_guard.guard_payload(leaky, "the diagnostics (test)")
    assert await guarded() == {"entry": {"data": {"token": token}}}

    assert [(leak.kind, leak.where) for leak in guard.leaks] == [
        (TOKEN_KIND, "the diagnostics (test)")
    ]
    assert hasattr(diagnostics.async_get_config_entry_diagnostics, "__wrapped__")


def test_a_report_is_scanned_and_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token()
    own = Guard()
    own.remember(token, REFRESH_TOKEN)
    monkeypatch.setattr(secret_guard, "GUARD", own)
    report = pytest.TestReport(
        "tests/x.py::test_x",
        ("tests/x.py", 1, "test_x"),
        {},
        "passed",
        None,
        "call",
        [("Captured stdout call", f"refreshing with {base64.b64encode(token.encode()).decode()}")],
    )

    hook = secret_guard.pytest_runtest_logreport(report)
    next(hook)

    assert report.failed
    assert "refresh token (base64) leaked in the report section 'Captured stdout call'" in str(
        report.longrepr
    )
    assert token not in str(report.longrepr)
    assert [leak.test for leak in own.leaks] == ["tests/x.py::test_x"]


# -- Failing the run ---------------------------------------------------------------------------

_INNER_OPTIONS = (
    "-p",
    "tests.secret_guard",
    "-p",
    "no:cacheprovider",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
)
_INNER = """
from tests import secret_guard


def test_clean() -> None:
    secret_guard.remember("{token}", "access token")
    secret_guard.scan_text("nothing to see here", "a clean payload")


def test_leaky() -> None:
    secret_guard.remember("{token}", "access token")
    secret_guard.scan_text("value={token}", "a leaky payload")
"""


def test_a_leak_fails_its_test_and_the_run(
    pytester: pytest.Pytester, guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token()
    monkeypatch.setattr(harness, "RESULTS", [harness.Cell("cell")])
    pytester.makepyfile(test_inner=_INNER.format(token=token))

    result = pytester.runpytest_inprocess(*_INNER_OPTIONS, "--show-capture=no")

    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "access token (raw) leaked in a leaky payload" in output
    assert token not in output
    assert token[-12:] not in output
    lines = result.stdout.lines
    faults = lines.index("faults: 1 tried, 1 survived, 0 double executions, 1 secrets leaked")
    assert lines[faults - 1].endswith("(during test_inner.py::test_leaky)")
    assert "short test summary" in lines[faults + 1]
    assert [leak.test for leak in guard.leaks] == ["test_inner.py::test_leaky"]


def test_a_clean_run_has_no_leaks(
    pytester: pytest.Pytester, guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness, "RESULTS", [harness.Cell("cell")])
    pytester.makepyfile(
        test_inner=(
            'import logging\n\ndef test_quiet() -> None:\n    logging.getLogger("x").debug("ok")\n'
        )
    )

    result = pytester.runpytest_inprocess(*_INNER_OPTIONS)

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert "faults: 1 tried, 1 survived, 0 double executions, 0 secrets leaked" in (
        result.stdout.str()
    )
    assert not guard.leaks
