"""Secret hygiene on every test run: no credential may show up where a user or a log could see it.

The guard knows every access token and refresh token the simulated cloud mints, every Bluetooth
private key the integration generates or loads, and the fixed tokens the tests type in. It looks
for each of them, in every spelling worth fearing (raw, hex, base64, PEM, DER), in:

* every log record, at debug level, of every logger (a handler on the root logger);
* the text of every exception raised out of a service call or a config, options or subentry flow;
* every diagnostics payload of the integration;
* every test report (the failure text and the captured output and logs).

A hit fails the test during which it happened, naming the kind of secret and where it was seen,
never the secret; the session then exits non-zero.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from simulator import secrets as registry

if TYPE_CHECKING:
    from _pytest.terminal import TerminalReporter

ACCESS_TOKEN: Final = "access token"
REFRESH_TOKEN: Final = "refresh token"
PRIVATE_KEY: Final = "Bluetooth private key"

MIN_LENGTH: Final = 8
"""Shorter values are too weak to be told apart from ordinary text, and are not looked for."""

FIXTURE_TOKENS: Final[Mapping[str, str]] = {
    "not-a-token": ACCESS_TOKEN,
    "still-wrong": ACCESS_TOKEN,
    "EU_not-a-token": REFRESH_TOKEN,
}
"""Tokens the tests type in as a user would (the simulator mints all others)."""

DEBUG_LOGGERS: Final = (
    "",
    "custom_components.tesla_resilient",
    "tesla_fleet_api",
    "homeassistant",
    "aiohttp",
    "bleak_retry_connector",
    "habluetooth",
)
"""Loggers held at debug level for the whole run, so that debug records are produced at all."""

_PROBE: Final = 8
"""Length of the piece of each spelling looked up first; a hit is then confirmed in full."""

_LONG: Final = 20
"""Spellings are found through their longest stretch of token characters, if it is this long.

Ordinary log text seldom has such stretches, so most of it is passed over at the speed of one
regular expression; the few spellings without one are looked for one by one.
"""

_TOKEN_CHARS: Final = "A-Za-z0-9+/_-"
_RUN: Final = re.compile(f"[{_TOKEN_CHARS}]+")
_LONG_RUN: Final = re.compile(f"[{_TOKEN_CHARS}]{{{_LONG},}}")
"""A long stretch of the characters tokens, hex and base64 (both alphabets) are written with."""


@dataclass(frozen=True)
class Leak:
    """A secret seen where it must not be: what kind, where, and during which test."""

    kind: str
    where: str
    test: str

    def describe(self) -> str:
        """The leak in words, without any part of the secret."""
        return f"{self.kind} leaked in {self.where} (during {self.test})"


# -- Spellings ---------------------------------------------------------------------------------


def _base64_forms(data: bytes) -> dict[str, str]:
    standard = base64.b64encode(data).decode()
    urlsafe = base64.urlsafe_b64encode(data).decode()
    forms: dict[str, str] = {}
    for form, name in (
        (standard, "base64"),
        (standard.rstrip("="), "base64 without padding"),
        (urlsafe, "URL-safe base64"),
        (urlsafe.rstrip("="), "URL-safe base64 without padding"),
    ):
        forms.setdefault(form, name)
    return forms


def bytes_forms(data: bytes, what: str = "") -> dict[str, str]:
    """Each spelling of some bytes (hex in both cases, base64 both ways) and its name."""
    prefix = f"{what} " if what else ""
    forms = {data.hex(): f"{prefix}hex", data.hex().upper(): f"{prefix}hex (upper case)"}
    for form, name in _base64_forms(data).items():
        forms.setdefault(form, f"{prefix}{name}")
    return forms


def _pem_lines_with_scalar(pem: str, der: bytes, scalar: bytes) -> list[str]:
    """The PEM body lines that carry bits of the private scalar (others hold only public data)."""
    offset = der.find(scalar)
    body = [line for line in pem.strip().splitlines() if not line.startswith("-----")]
    if offset < 0:
        return body
    first, last = offset * 4 // 3, -(-(offset + len(scalar)) * 4 // 3)
    lines, start = [], 0
    for line in body:
        if start < last and first < start + len(line):
            lines.append(line)
        start += len(line)
    return lines


def private_key_forms(key: ec.EllipticCurvePrivateKey, pem: str | None = None) -> dict[str, str]:
    """Each spelling of a private key: PEM (and its body lines), DER and the raw scalar."""
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    forms: dict[str, str] = {}
    texts = [pem] if pem else []
    for name, private_format in (
        ("PKCS#8", serialization.PrivateFormat.PKCS8),
        ("SEC1", serialization.PrivateFormat.TraditionalOpenSSL),
    ):
        der = key.private_bytes(
            serialization.Encoding.DER, private_format, serialization.NoEncryption()
        )
        text = key.private_bytes(
            serialization.Encoding.PEM, private_format, serialization.NoEncryption()
        ).decode()
        texts.append(text)
        for form, encoding in bytes_forms(der, f"{name} DER").items():
            forms.setdefault(form, encoding)
        for line in _pem_lines_with_scalar(text, der, scalar):
            forms.setdefault(line, f"{name} PEM body line")
    for text in texts:
        forms.setdefault(text.strip(), "PEM")
        forms.setdefault(text.strip().replace("\n", "\\n"), "PEM (escaped)")
    for form, encoding in bytes_forms(scalar, "private scalar").items():
        forms.setdefault(form, encoding)
    return forms


def _as_private_key(text: str) -> ec.EllipticCurvePrivateKey | None:
    if "PRIVATE KEY-----" not in text:
        return None
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def secret_forms(value: object) -> dict[str, str]:
    """Every spelling of a secret worth looking for, each with the name of its encoding.

    Strings count raw, in hex and in base64; bytes in hex and base64; a private key (as an object
    or as PEM) as PEM, PEM body lines, DER and its raw scalar. Values shorter than MIN_LENGTH
    count as nothing.
    """
    forms: dict[str, str] = {}
    if isinstance(value, ec.EllipticCurvePrivateKey):
        forms = private_key_forms(value)
    elif isinstance(value, str):
        if len(value) < MIN_LENGTH:
            return {}
        if (key := _as_private_key(value)) is not None:
            forms = private_key_forms(key, value)
        else:
            forms = {value: "raw", **bytes_forms(value.encode())}
    elif isinstance(value, bytes | bytearray):
        if len(value) < MIN_LENGTH:
            return {}
        forms = bytes_forms(bytes(value))
    return {form: name for form, name in forms.items() if len(form) >= MIN_LENGTH}


# -- Search ------------------------------------------------------------------------------------


def _probe(form: str) -> str | None:
    """The piece of a spelling looked up first: the end of its longest run of token characters."""
    longest = max(_RUN.findall(form), key=len, default="")
    return longest[-_PROBE:] if len(longest) >= _LONG else None


@dataclass
class Guard:
    """Secrets and their spellings, a fast search for them in text, and the leaks found."""

    source: Callable[[], list[tuple[object, str]]] | None = None
    """Where secrets come from (the shared registry); None for a guard fed only by remember()."""
    version: Callable[[], int] | None = None
    leaks: list[Leak] = field(default_factory=list)
    pending: dict[str, list[Leak]] = field(default_factory=dict)
    """Leaks per test id not yet reported as failures."""
    test: str = "<session>"
    records_seen: int = 0
    scan_reports: bool = True
    """Whether test reports are searched too (a guard that checks itself leaves them alone)."""

    def __post_init__(self) -> None:
        self._own: list[tuple[object, str]] = []
        self._seen_version = -1
        self._taken = 0
        self._probes: dict[str, list[tuple[str, str]]] = {}
        self._unprobed: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        """Records also come from executor threads."""

    def remember(self, value: object, kind: str) -> None:
        """Add a secret to look for."""
        if self.source is None:
            self._own.append((value, kind))
        else:
            registry.remember(value, kind)

    def _entries(self) -> list[tuple[object, str]]:
        return self._own if self.source is None else self.source()

    def _sync(self) -> None:
        current = len(self._own) if self.version is None else self.version()
        if current == self._seen_version:
            return
        self._seen_version = current
        entries = self._entries()
        for value, kind in entries[self._taken :]:
            for form, encoding in secret_forms(value).items():
                label = f"{kind} ({encoding})"
                if (probe := _probe(form)) is None:
                    self._unprobed.append((form, label))
                else:
                    self._probes.setdefault(probe, []).append((form, label))
        self._taken = len(entries)

    def find(self, text: str) -> set[str]:
        """The secrets (kind and encoding) spelled out in `text`."""
        if len(text) < MIN_LENGTH:
            return set()
        with self._lock:
            self._sync()
            return self._find(text)

    def _find(self, text: str) -> set[str]:
        matched: list[tuple[str, str]] = []
        probes = self._probes
        if probes:
            pieces = {
                run[start : start + _PROBE]
                for run in _LONG_RUN.findall(text)
                for start in range(len(run) - _PROBE + 1)
            }
            for piece in probes.keys() & pieces:
                matched.extend(hit for hit in probes[piece] if hit[0] in text)
        matched.extend(hit for hit in self._unprobed if hit[0] in text)
        if len(matched) < 2:
            return {label for _, label in matched}
        # One spelling inside another (base64 without its padding) is one leak, not two.
        return {
            label
            for form, label in matched
            if not any(form != other and form in other for other, _ in matched)
        }

    def scan(self, text: str, where: str) -> list[Leak]:
        """Record (and return) a leak for each secret spelled out in `text`, seen at `where`."""
        leaks = [Leak(kind, where, self.test) for kind in sorted(self.find(text))]
        with self._lock:
            for leak in leaks:
                if leak not in self.pending.get(leak.test, ()):
                    self.leaks.append(leak)
                    self.pending.setdefault(leak.test, []).append(leak)
        return leaks


GUARD = Guard(source=registry.known, version=registry.version)
"""The guard of this run; it reads the simulator's registry of credentials."""

LEAKS: Final[list[Leak]] = GUARD.leaks
"""Every leak found in this run."""


def leak_count() -> int:
    """How many leaks this run has found."""
    return len(GUARD.leaks)


def remember(value: object, kind: str) -> None:
    """Add a secret the guard looks for from now on."""
    GUARD.remember(value, kind)


def scan_text(text: str, where: str) -> list[Leak]:
    """Look for secrets in `text`, recording a leak for each."""
    return GUARD.scan(text, where)


def scan_exception(err: BaseException, where: str) -> list[Leak]:
    """Look for secrets in an exception's text, its translation placeholders and its causes."""
    texts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        texts.append(f"{type(current).__name__}: {current}")
        for attribute in ("translation_key", "translation_placeholders"):
            if (extra := getattr(current, attribute, None)) is not None:
                texts.append(json.dumps(extra, default=str))
        current = current.__cause__ or current.__context__
    return scan_text("\n".join(texts), f"{where} ({type(err).__name__})")


def scan_payload(payload: object, where: str) -> list[Leak]:
    """Look for secrets in a payload as it would be downloaded (JSON)."""
    return scan_text(json.dumps(payload, default=str), where)


# -- Logs --------------------------------------------------------------------------------------


class _LeakHandler(logging.Handler):
    """Looks for secrets in every record's message, exception and stack text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        guard = GUARD
        guard.records_seen += 1
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot be formatted shows no secret
            return
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            text = f"{text}\n{record.exc_text}"
        if record.stack_info:
            text = f"{text}\n{record.stack_info}"
        guard.scan(text, f"a {record.levelname} log record of {record.name}")

    def handleError(self, record: logging.LogRecord) -> None:
        """Never print a record that failed here: it might hold the secret."""


_HANDLER: Final = _LeakHandler()


def _quiet_console_handlers() -> None:
    """Keep handlers that print to the console at info level, as before the run went to debug.

    Debug records still reach every other handler (the guard's and pytest's log capture).
    """
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and handler.level == logging.NOTSET:
            handler.setLevel(logging.INFO)


def _hold_debug_level() -> None:
    """Keep the watched loggers at debug level (a test may have changed them)."""
    for name in DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level != logging.DEBUG:
            logger.setLevel(logging.DEBUG)
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)


# -- Wrapping the places secrets come from and go to --------------------------------------------

_ORIGINALS: Final[list[tuple[object, str, object]]] = []
"""What was swapped where, to put back at the end of the run."""
_SWAPS: Final[list[tuple[object, object]]] = []
"""Each original with its replacement."""


def _replace(owner: object, name: str, replacement: object) -> None:
    """Swap an attribute, and every module-level binding of the original in project modules."""
    original = getattr(owner, name)
    _ORIGINALS.append((owner, name, original))
    _SWAPS.append((original, replacement))
    setattr(owner, name, replacement)
    _rebind(original, replacement)


def _rebind(original: object, replacement: object) -> None:
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(
            ("custom_components.", "simulator", "tests", "bench", "demo")
        ):
            continue
        for attribute, value in list(vars(module).items()):
            if value is original:
                _ORIGINALS.append((module, attribute, original))
                setattr(module, attribute, replacement)


def _restore() -> None:
    while _ORIGINALS:
        owner, name, original = _ORIGINALS.pop()
        setattr(owner, name, original)


def guard_raised[**P, R](
    original: Callable[P, Awaitable[R]], where: str, result_keys: tuple[str, ...] = ()
) -> Callable[P, Awaitable[R]]:
    """Wrap a coroutine function: scan the text of what it raises, and parts of its result."""

    @functools.wraps(original)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = await original(*args, **kwargs)
        except Exception as err:
            scan_exception(err, where)
            raise
        if result_keys and isinstance(result, Mapping):
            shown = {key: result.get(key) for key in result_keys if result.get(key)}
            if shown:
                scan_payload(shown, f"the result of {where}")
        return result

    return guarded


def guard_payload[**P](
    original: Callable[P, Awaitable[Any]], where: str
) -> Callable[P, Awaitable[Any]]:
    """Wrap a diagnostics function so that its payload is scanned."""

    @functools.wraps(original)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
        payload = await original(*args, **kwargs)
        scan_payload(payload, where)
        return payload

    return guarded


def _guard_key_source[**P](original: Callable[P, Any], returns_pem: bool) -> Callable[P, Any]:
    """Wrap a function that makes or reads a Bluetooth key so that the key is remembered."""

    @functools.wraps(original)
    def remembering(*args: P.args, **kwargs: P.kwargs) -> Any:
        result = original(*args, **kwargs)
        if returns_pem:
            remember(result, PRIVATE_KEY)
        elif args and isinstance(args[0], str):
            remember(args[0], PRIVATE_KEY)
        return result

    return remembering


_FLOW_RESULT_KEYS: Final = ("errors", "description_placeholders", "reason")


def _install_wrappers() -> None:
    from homeassistant import config_entries, data_entry_flow  # noqa: PLC0415
    from homeassistant.core import ServiceRegistry  # noqa: PLC0415

    from custom_components.tesla_resilient import diagnostics, keys  # noqa: PLC0415

    for name, returns_pem in (("generate_private_key", True), ("load_private_key", False)):
        if (function := getattr(keys, name, None)) is not None:
            _replace(keys, name, _guard_key_source(function, returns_pem))
    for name in ("async_get_config_entry_diagnostics", "async_get_device_diagnostics"):
        if (function := getattr(diagnostics, name, None)) is not None:
            _replace(diagnostics, name, guard_payload(function, f"the diagnostics ({name})"))
    _replace(
        ServiceRegistry,
        "async_call",
        guard_raised(ServiceRegistry.async_call, "a service call"),
    )
    for manager in (
        data_entry_flow.FlowManager,
        config_entries.ConfigEntriesFlowManager,
        config_entries.OptionsFlowManager,
        config_entries.ConfigSubentryFlowManager,
    ):
        for method in ("async_init", "async_configure"):
            if method in vars(manager):
                where = f"{manager.__name__}.{method}"
                original = cast("Callable[..., Awaitable[Any]]", vars(manager)[method])
                _replace(manager, method, guard_raised(original, where, _FLOW_RESULT_KEYS))


# -- Pytest hooks ------------------------------------------------------------------------------

_state: dict[str, int] = {"configured": 0}


def pytest_configure(config: pytest.Config) -> None:
    """Start watching: fixture tokens, debug logging, and the wrapped entry points."""
    _state["configured"] += 1
    if _state["configured"] > 1:
        return
    for token, kind in FIXTURE_TOKENS.items():
        registry.remember(token, kind)
    _quiet_console_handlers()
    _hold_debug_level()
    _install_wrappers()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop watching once the outermost run ends."""
    _state["configured"] -= 1
    if _state["configured"] > 0:
        return
    _restore()
    _SWAPS.clear()
    logging.getLogger().removeHandler(_HANDLER)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Point test modules imported since start-up at the wrapped functions too."""
    for original, replacement in _SWAPS:
        _rebind(original, replacement)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Attribute what is seen while a test runs to that test."""
    guard = GUARD
    previous, guard.test = guard.test, item.nodeid
    try:
        return (yield)
    finally:
        guard.test = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None]:
    """Hold debug level from the start of each test."""
    _hold_debug_level()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    """Hold debug level again once fixtures (which may set levels) are in place."""
    _hold_debug_level()
    return (yield)


def _report_texts(report: pytest.TestReport) -> Iterable[tuple[str, str]]:
    if report.longrepr is not None:
        yield report.longreprtext, f"the {report.when} report"
    for title, content in report.sections:
        yield content, f"the report section '{title}'"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> Generator[None]:
    """Scan the report, then fail it for every leak of its test not reported yet."""
    guard = GUARD
    if guard.scan_reports:
        previous, guard.test = guard.test, report.nodeid
        try:
            for text, where in _report_texts(report):
                guard.scan(text, where)
        finally:
            guard.test = previous
    reportable = report.when in ("call", "teardown") or report.failed
    if reportable and (leaks := guard.pending.pop(report.nodeid, [])):
        message = "secrets leaked:\n" + "\n".join(f"  {leak.describe()}" for leak in leaks)
        if report.failed:
            report.sections.append(("secret guard", message))
        else:
            report.outcome = "failed"
            report.longrepr = message
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None]:
    """A run that leaked fails, whatever its tests said."""
    if GUARD.leaks and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return (yield)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """List the leaks; the fault matrix's summary line (with the leak count) comes last."""
    if GUARD.leaks:
        terminalreporter.write_sep("=", "secrets leaked", red=True)
        for leak in GUARD.leaks:
            terminalreporter.write_line(leak.describe())
    from tests.faults import harness  # noqa: PLC0415

    if harness.RESULTS:
        terminalreporter.write_line(harness.summary_line(leak_count()))
