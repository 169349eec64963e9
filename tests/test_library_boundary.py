"""The integration lives beside core's Tesla integrations, on tesla-fleet-api's public face only."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import tesla_fleet_api
from homeassistant.components import tesla_fleet
from homeassistant.util.package import is_installed
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "tesla_resilient"
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text())
LIBRARY = Path(tesla_fleet_api.__file__).parent

LIBRARY_MODULES = frozenset({"ble.py", "cloud.py", "cloud_errors.py", "protocol/proto.py"})
"""The link modules, the cloud classification (it reads library errors) and the protocol package
(its one import of the protobuf messages): the only ones that may import the library."""

CORE_PINS = {
    "2025.6": "1.1.1",
    "2025.8": "1.2.3",
    "2025.10": "1.2.3",
    "2025.12": "1.2.5",
    "2026.2": "1.4.2",
    "newest": "1.18.1",
}
"""tesla-fleet-api as core's `tesla_fleet` manifest pins it, read from each release's wheel."""


def _library_requirement() -> str:
    (requirement,) = (r for r in MANIFEST["requirements"] if r.startswith("tesla-fleet-api"))
    return str(requirement)


def test_manifest_installs_nothing_over_this_lanes_library() -> None:
    """Home Assistant's installer checks each requirement with is_installed; it must say yes."""
    assert is_installed(_library_requirement()), (
        f"{_library_requirement()} would make Home Assistant replace "
        f"tesla-fleet-api {version('tesla-fleet-api')}"
    )


def test_manifest_accepts_what_this_lanes_core_pins() -> None:
    """Core's own Tesla integrations pin a version; ours must accept exactly that one."""
    core = json.loads((Path(tesla_fleet.__file__).parent / "manifest.json").read_text())
    (pin,) = (r for r in core["requirements"] if r.startswith("tesla-fleet-api"))
    pinned = Requirement(pin).specifier
    (pinned_version,) = (spec.version for spec in pinned)
    assert Requirement(_library_requirement()).specifier.contains(pinned_version)


@pytest.mark.parametrize(("release", "pinned"), CORE_PINS.items())
def test_manifest_accepts_every_pin_in_the_supported_range(release: str, pinned: str) -> None:
    assert Requirement(_library_requirement()).specifier.contains(pinned), release


def _python_files(root: Path) -> Iterator[Path]:
    yield from sorted(root.rglob("*.py"))


def _defined_names(tree: ast.AST, *, arguments: bool = False) -> set[str]:
    """Names a module defines: functions, classes, attributes and variables it assigns."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif arguments and isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _library_private_names() -> frozenset[str]:
    """Every private name the library defines: functions, methods, class and instance attributes."""
    names = {
        name
        for path in _python_files(LIBRARY)
        for name in _defined_names(ast.parse(path.read_text(encoding="utf-8")))
    }
    return frozenset(n for n in names if n.startswith("_") and not n.startswith("__"))


def private_uses(source: str, library_private: frozenset[str]) -> list[str]:
    """Attribute reads of the library's private names that the code itself never defines."""
    tree = ast.parse(source)
    own = _defined_names(tree, arguments=True)
    return sorted(
        {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr in library_private
            and node.attr not in own
        }
    )


def library_subclasses(source: str) -> list[str]:
    """Classes whose bases are names imported from tesla_fleet_api."""
    tree = ast.parse(source)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tesla_fleet_api"):
            imported.update(alias.asname or alias.name for alias in node.names)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                root = base
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in imported | {"tesla_fleet_api"}:
                    found.append(node.name)
    return found


def imports_library(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tesla_fleet_api"):
            return True
        if isinstance(node, ast.Import) and any(
            alias.name.startswith("tesla_fleet_api") for alias in node.names
        ):
            return True
    return False


def test_the_library_defines_private_names() -> None:
    """The scan below is only as good as this list: it must know the private names there are."""
    private = _library_private_names()
    assert {"_request"} <= private


def test_no_module_names_a_private_member_of_the_library() -> None:
    private = _library_private_names()
    offenders = {
        path.relative_to(INTEGRATION).as_posix(): uses
        for path in _python_files(INTEGRATION)
        if (uses := private_uses(path.read_text(encoding="utf-8"), private))
    }
    assert offenders == {}


def test_no_module_subclasses_a_library_class() -> None:
    offenders = {
        path.relative_to(INTEGRATION).as_posix(): classes
        for path in _python_files(INTEGRATION)
        if (classes := library_subclasses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_only_the_links_and_the_protocol_module_import_the_library() -> None:
    importers = {
        path.relative_to(INTEGRATION).as_posix()
        for path in _python_files(INTEGRATION)
        if imports_library(path.read_text())
    }
    assert importers <= LIBRARY_MODULES


def test_the_scans_catch_what_they_look_for() -> None:
    """The checks above fail on code that does what they forbid."""
    private = _library_private_names()
    reaching = "async def f(api):\n    return await api._request('POST', 'x')\n"
    assert private_uses(reaching, private) == ["_request"]
    own = "class A:\n    def _request(self):\n        return self._request\n"
    assert private_uses(own, private) == []
    subclass = (
        "from tesla_fleet_api.tesla.vehicle.bluetooth import VehicleBluetooth\n"
        "class Car(VehicleBluetooth):\n    pass\n"
    )
    assert library_subclasses(subclass) == ["Car"]
    assert imports_library("import tesla_fleet_api.const\n")
    assert not imports_library("import tesla\n")
