"""What hassfest and HACS leave out: code against its strings, quality-scale evidence, README."""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.validation_helpers import (
    ALL_RULES,
    DOMAIN,
    INTEGRATION_DIR,
    PLATFORMS,
    QUALITY_RULE_CHECKS,
    REPO_ROOT,
    Integration,
    KeyUse,
    check_cited_tests,
    check_docstring,
    check_en_json,
    check_flow_translations,
    check_hacs_minimum,
    check_parallel_updates,
    check_placeholders,
    check_quality_rule,
    check_quality_scale_file,
    check_sections_used,
    check_services,
    check_translation_key_sites,
    check_uses,
    dotted,
    leaf_strings,
    lookup,
    quality_scale,
    readme_minimum,
    rule_status,
    uses_in,
)

MODULES = sorted(path.stem for path in INTEGRATION_DIR.glob("*.py"))
PLATFORM_MODULES = sorted(PLATFORMS & set(MODULES))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """These checks only read files, so they start no Home Assistant."""


@pytest.fixture(scope="module")
def integration() -> Integration:
    """The integration as checked out."""
    return Integration(INTEGRATION_DIR, REPO_ROOT)


def assert_clean(errors: list[str]) -> None:
    """Fail with every finding, one per line."""
    assert not errors, "\n" + "\n".join(errors)


# hacs.json


def test_hacs_minimum_home_assistant_matches_readme() -> None:
    assert_clean(check_hacs_minimum(REPO_ROOT))


# Translations


def test_entity_translations(integration: Integration) -> None:
    assert_clean(check_uses(integration, uses_in(integration, "entity")))


def test_exception_translations(integration: Integration) -> None:
    assert_clean(check_uses(integration, uses_in(integration, "exceptions")))


def test_issue_translations(integration: Integration) -> None:
    assert_clean(check_uses(integration, uses_in(integration, "issues")))


def test_selector_and_device_translations(integration: Integration) -> None:
    assert_clean(check_uses(integration, uses_in(integration, "selector", "device")))


def test_flow_translations(integration: Integration) -> None:
    assert_clean(check_flow_translations(integration))


def test_described_services_are_registered(integration: Integration) -> None:
    assert_clean(check_services(integration))


def test_placeholders_are_provided(integration: Integration) -> None:
    assert_clean(check_placeholders(integration))


def test_no_unused_strings_section(integration: Integration) -> None:
    assert_clean(check_sections_used(integration))


def test_every_translation_key_use_is_understood(integration: Integration) -> None:
    assert_clean(check_translation_key_sites(integration))


def test_en_json_is_strings_json(integration: Integration) -> None:
    assert_clean(check_en_json(integration))


# quality_scale.yaml


def test_quality_scale_file(integration: Integration) -> None:
    assert_clean(check_quality_scale_file(integration))


def test_quality_scale_cites_existing_tests(integration: Integration) -> None:
    assert_clean(check_cited_tests(integration))


@pytest.mark.parametrize("rule", ALL_RULES)
def test_quality_scale_rule_is_done_or_exempt(integration: Integration, rule: str) -> None:
    assert_clean(check_quality_rule(integration, rule))


@pytest.mark.parametrize("rule", sorted(QUALITY_RULE_CHECKS))
def test_quality_scale_done_rule_holds(integration: Integration, rule: str) -> None:
    rules, _ = quality_scale(integration)
    if (status := rule_status(rules.get(rule))) != "done":
        pytest.skip(f"{rule} is {status or 'missing'}, nothing to verify")
    assert_clean(QUALITY_RULE_CHECKS[rule](integration))


# Modules


@pytest.mark.parametrize("module", PLATFORM_MODULES)
def test_platform_sets_parallel_updates(integration: Integration, module: str) -> None:
    assert_clean(check_parallel_updates(integration, module))


@pytest.mark.parametrize("module", MODULES)
def test_module_docstring_is_one_line(integration: Integration, module: str) -> None:
    assert_clean(check_docstring(integration, module))


# The checks fail on broken copies


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the repository files the checks read."""
    root = tmp_path / "repo"
    shutil.copytree(
        INTEGRATION_DIR,
        root / "custom_components" / DOMAIN,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("hacs.json", "README.md", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, root / name)
    return root


def edit_json(file: Path, change: Callable[[Any], None]) -> None:
    """Rewrite a JSON file after `change` mutates its data."""
    data = json.loads(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(json.dumps(data, indent=2), encoding="utf-8")


def new_findings(
    root: Path, check: Callable[[Integration], list[str]], breaks: Callable[[Path], None]
) -> list[str]:
    """Findings of `check` that appear only after `breaks` damages the copy."""
    folder = root / "custom_components" / DOMAIN
    before = check(Integration(folder, root))
    breaks(folder)
    return [finding for finding in check(Integration(folder, root)) if finding not in before]


def assert_found(findings: list[str], *fragments: str) -> None:
    """Each fragment appears in some finding."""
    for fragment in fragments:
        assert any(fragment in f for f in findings), f"{fragment!r} not in {findings}"


def delete(data: Any, path: tuple[str, ...]) -> None:
    """Remove the value at `path` from nested dicts."""
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


def put(data: Any, path: tuple[str, ...], value: Any) -> None:
    """Set the value at `path` in nested dicts, creating the dicts on the way."""
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


def first_use(uses: list[KeyUse], test: Callable[[KeyUse], bool]) -> KeyUse:
    """The first key use passing `test`; the check cannot be shown failing without one."""
    use = next((use for use in uses if test(use)), None)
    if use is None:
        pytest.skip("the integration uses no such key yet")
    return use


def test_missing_entity_and_exception_strings_fail(repo: Path) -> None:
    folder = repo / "custom_components" / DOMAIN
    uses = Integration(folder, repo).key_uses
    entity = first_use(uses, lambda u: u.path[0] == "entity" and u.path[-1] == "name")
    exception = first_use(uses, lambda u: u.path[0] == "exceptions")
    removed = [entity.path[:3], exception.path[:2]]
    if state := next((u for u in uses if u.path[0] == "entity" and "state" in u.path), None):
        removed.append(state.path)

    def breaks(folder: Path) -> None:
        def change(strings: dict[str, Any]) -> None:
            for path in removed:
                if lookup(strings, path):
                    delete(strings, path)

        edit_json(folder / "strings.json", change)

    findings = new_findings(
        repo, lambda i: check_uses(i, uses_in(i, "entity", "exceptions")), breaks
    )
    assert_found(
        findings,
        f"strings.json: {dotted(entity.path)} is missing (entity at {entity.site}",
        f"strings.json: {dotted(exception.path)} is missing (exception at ",
    )
    if state:
        assert_found(findings, f"strings.json: {dotted(state.path)} is missing")


def test_missing_flow_strings_and_placeholders_fail(repo: Path) -> None:
    folder = repo / "custom_components" / DOMAIN
    uses = Integration(folder, repo).flows.uses
    error = first_use(uses, lambda u: u.what == "form error")
    step = first_use(uses, lambda u: u.what == "step" and u.provided is not None)

    def breaks(folder: Path) -> None:
        def change(strings: dict[str, Any]) -> None:
            delete(strings, error.path)
            put(strings, (*step.path, "description"), "Reach {unprovided_placeholder}.")

        edit_json(folder / "strings.json", change)

    assert_found(
        new_findings(repo, check_flow_translations, breaks),
        f"strings.json: {dotted(error.path)} is missing (form error at ",
    )
    assert_found(
        check_placeholders(Integration(folder, repo)),
        f"strings.json: {dotted(step.path)}.description needs {{unprovided_placeholder}} but ",
    )


def test_stale_en_json_fails(repo: Path) -> None:
    english_file = repo / "custom_components" / DOMAIN / "translations" / "en.json"
    path, _ = next(leaf_strings(json.loads(english_file.read_text(encoding="utf-8"))))

    def breaks(folder: Path) -> None:
        def change(english: dict[str, Any]) -> None:
            put(english, path, "Old text")
            put(english, (*path[:-1], "gone"), "Removed")

        edit_json(english_file, change)

    assert_found(
        new_findings(repo, check_en_json, breaks),
        f"translations/en.json: {dotted(path)} is 'Old text'",
        f"translations/en.json: {dotted((*path[:-1], 'gone'))} is not in strings.json",
    )


def test_services_yaml_without_registration_fails(repo: Path) -> None:
    def breaks(folder: Path) -> None:
        (folder / "services.yaml").write_text("made_up_service:\n  fields: {}\n", encoding="utf-8")

    assert_found(
        new_findings(repo, check_services, breaks),
        "services.yaml: made_up_service: no code registers this service",
    )


def test_bad_quality_scale_fails(repo: Path) -> None:
    def breaks(folder: Path) -> None:
        file = folder / "quality_scale.yaml"
        text = file.read_text(encoding="utf-8")
        file.write_text(text + "  made-up-rule: done\n", encoding="utf-8")

    assert_found(
        new_findings(repo, check_quality_scale_file, breaks),
        "quality_scale.yaml: rules.made-up-rule: not a rule of the quality scale",
    )
    folder = repo / "custom_components" / DOMAIN
    (folder / "quality_scale.yaml").write_text(
        "rules:\n  brands: todo\n  docs-actions:\n    status: exempt\n", encoding="utf-8"
    )
    integration = Integration(folder, repo)
    assert_found(check_quality_rule(integration, "brands"), "rules.brands is todo (bronze)")
    assert_found(check_quality_rule(integration, "strict-typing"), "rules.strict-typing is missing")
    assert_found(
        check_quality_scale_file(integration),
        "quality_scale.yaml: rules.docs-actions: exempt needs a comment",
    )


def test_quality_scale_citing_a_missing_test_fails(repo: Path) -> None:
    shutil.copytree(
        REPO_ROOT / "tests", repo / "tests", ignore=shutil.ignore_patterns("__pycache__")
    )

    def breaks(folder: Path) -> None:
        file = folder / "quality_scale.yaml"
        text = file.read_text(encoding="utf-8")
        file.write_text(
            text + "  stale-devices:\n    status: done\n    comment: >-\n"
            "      tests/integration/test_gone.py test_no_such_behaviour.\n",
            encoding="utf-8",
        )

    assert_found(
        new_findings(repo, check_cited_tests, breaks),
        "rules.stale-devices: cites tests/integration/test_gone.py, which does not exist",
        "rules.stale-devices: cites test_no_such_behaviour, which no test file defines",
    )


def test_hacs_minimum_out_of_step_with_readme_fails(repo: Path) -> None:
    stated = sorted(readme_minimum(repo))
    edit_json(repo / "hacs.json", lambda hacs: hacs.update(homeassistant="2099.1.0"))
    assert_found(
        check_hacs_minimum(repo),
        "hacs.json: homeassistant: 2099.1.0 is newer than the Home Assistant the tests run",
        *(
            f"README.md: states Home Assistant {v} as the minimum, hacs.json says 2099.1.0"
            for v in stated
        ),
    )
    (repo / "README.md").write_text("# Tesla Resilient\n", encoding="utf-8")
    assert_found(check_hacs_minimum(repo), "README.md: states no minimum Home Assistant version")


@pytest.mark.parametrize("module", PLATFORM_MODULES[:1])
def test_platform_without_parallel_updates_or_short_docstring_fails(
    repo: Path, module: str
) -> None:
    folder = repo / "custom_components" / DOMAIN
    file = folder / f"{module}.py"
    text = file.read_text(encoding="utf-8")
    body = ast.parse(text).body
    dropped = {
        number
        for stmt in body[1:]
        if isinstance(stmt, ast.Assign | ast.AnnAssign)
        and "PARALLEL_UPDATES" in {t.id for t in ast.walk(stmt) if isinstance(t, ast.Name)}
        for number in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
    }
    docstring_end = body[0].end_lineno or 1
    kept = [
        line
        for number, line in enumerate(text.splitlines(keepends=True), 1)
        if number > docstring_end and number not in dropped
    ]
    file.write_text('"""A platform.\n\nWith more lines.\n"""\n' + "".join(kept), encoding="utf-8")
    integration = Integration(folder, repo)
    assert check_parallel_updates(integration, module) == [
        f"{module}.py: PARALLEL_UPDATES is not set"
    ]
    assert check_docstring(integration, module) == [
        f"{module}.py: the module docstring is not one line"
    ]


SYNTHETIC_FLOW = '''"""A flow written to exercise the source analysis."""

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, OptionsFlow
from homeassistant.const import CONF_HOST
from homeassistant.exceptions import HomeAssistantError

DOMAIN = "synthetic"
REASONS = (("short", "too_short"), ("long", "too_long"))


class _Failed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(value: str) -> str:
    return next((key for size, key in REASONS if size == value), "unknown")


def _check(value: str) -> None:
    if not value:
        raise _Failed("empty")
    raise _Failed(_reason(value))


def _fail(key: str) -> None:
    raise HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders={"host": "h"}
    )


class Flow(ConfigFlow, domain=DOMAIN):
    async def async_step_user(self, user_input=None):
        return self.async_show_menu(step_id="user", menu_options=["manual", "missing"])

    async def async_step_manual(self, user_input=None):
        errors = {}
        try:
            _check(user_input or "")
        except _Failed as err:
            errors["base"] = err.reason
        _fail("refused")
        return self.async_show_form(
            step_id="manual",
            data_schema=vol.Schema({vol.Required(CONF_HOST): str}),
            errors=errors,
            description_placeholders={"host": "h"},
        )


class Options(OptionsFlow):
    async def async_step_init(self, user_input=None):
        return self.async_show_form(step_id="init")
'''

SYNTHETIC_INIT = '''"""Setup of the synthetic integration."""

from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.selector import SelectSelectorConfig

from .config_flow import DOMAIN

MODES = ["eco", "boost"]


async def async_setup(hass, config):
    hass.services.async_register(DOMAIN, "reset", print)
    ir.async_create_issue(
        hass, DOMAIN, "stale", is_fixable=False, severity=ir.IssueSeverity.ERROR,
        translation_key="stale",
    )
    SelectSelectorConfig(options=MODES, translation_key="mode")
    return True
'''


OPTIONS_STEP = 'step_id="init"'


def line_of(fragment: str) -> int:
    """The line of the synthetic flow that holds `fragment`."""
    return next(n for n, line in enumerate(SYNTHETIC_FLOW.splitlines(), 1) if fragment in line)


def test_source_analysis_on_a_synthetic_integration(tmp_path: Path) -> None:
    folder = tmp_path / "custom_components" / "synthetic"
    (folder / "translations").mkdir(parents=True)
    (folder / "config_flow.py").write_text(SYNTHETIC_FLOW, encoding="utf-8")
    (folder / "__init__.py").write_text(SYNTHETIC_INIT, encoding="utf-8")
    (folder / "manifest.json").write_text(
        json.dumps({"domain": "synthetic", "name": "Synthetic", "config_flow": True}),
        encoding="utf-8",
    )
    strings = {
        "config": {
            "step": {
                "user": {"menu_options": {"manual": "Manual"}},
                "manual": {"description": "Reach {host}:{port}.", "data": {"host": "Host"}},
            },
            "error": {"empty": "Empty", "too_short": "Short"},
        },
        "exceptions": {"refused": {"message": "{host} refused {what}."}},
        "device": {"car": {"name": "Car"}},
    }
    (folder / "strings.json").write_text(json.dumps(strings), encoding="utf-8")
    integration = Integration(folder, tmp_path)

    menu = f"config_flow.py:{line_of('async_show_menu')}"
    form = f"config_flow.py:{line_of('async_show_form')}"
    raised = f"config_flow.py:{line_of('raise HomeAssistantError')}"
    options = f"config_flow.py:{line_of('step_id="init"')}"
    assert sorted(check_flow_translations(integration)) == [
        f"{menu}: menu option 'missing' of step 'user' has no async_step_missing",
        f"strings.json: config.error.too_long is missing (form error at {form})",
        f"strings.json: config.error.unknown is missing (form error at {form})",
        f"strings.json: config.step.user.menu_options.missing is missing (menu option at {menu})",
        f"strings.json: options.step.init is missing (step at {options})",
    ]
    assert check_uses(integration, uses_in(integration, "exceptions")) == []
    assert check_placeholders(integration) == [
        f"strings.json: config.step.manual.description needs {{port}} but {form} provides host",
        f"strings.json: exceptions.refused.message needs {{what}} but {raised} provides host",
    ]
    init = SYNTHETIC_INIT.splitlines()
    registered = next(n for n, line in enumerate(init, 1) if "async_register" in line)
    issue = next(n for n, line in enumerate(init, 1) if "async_create_issue" in line)
    selector = next(n for n, line in enumerate(init, 1) if "SelectSelectorConfig(" in line)
    at = f"selector at __init__.py:{selector}"
    assert check_services(integration) == [
        f"services.yaml: reset is missing (registered at __init__.py:{registered})",
    ]
    assert check_uses(integration, uses_in(integration, "issues", "selector")) == [
        f"strings.json: issues.stale.description is missing (issue at __init__.py:{issue})",
        f"strings.json: issues.stale.title is missing (issue at __init__.py:{issue})",
        f"strings.json: selector.mode.options.boost is missing ({at})",
        f"strings.json: selector.mode.options.eco is missing ({at})",
    ]
    assert check_sections_used(integration) == [
        "strings.json: top-level section 'device' is not used by the code"
    ]
