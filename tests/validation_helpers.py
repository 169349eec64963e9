"""Checks that hassfest and HACS leave out, run offline on a custom integration folder.

.github/workflows/validate.yml runs the real hassfest and HACS actions. hassfest validates
manifest.json, config_flow.py against the manifest, the schema of strings.json (URLs in strings
included), services.yaml and icons.json, and the dependencies the code imports; HACS validates
hacs.json, the brand images and the repository. Neither reads the code against the strings,
checks quality_scale.yaml outside Home Assistant core, or compares the README with hacs.json:
only those checks are here, each saying which rule it covers.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from homeassistant.const import Platform
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.yaml import load_yaml_dict

REPO_ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "tesla_resilient"
INTEGRATION_DIR = REPO_ROOT / "custom_components" / DOMAIN
PLATFORMS = frozenset(platform.value for platform in Platform)
MINIMUM_HA_VERSION = "2025.4.0"

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)

QUALITY_SCALE_RULES: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ),
    "gold": (
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}
ALL_RULES = tuple(rule for rules in QUALITY_SCALE_RULES.values() for rule in rules)

HA_EXCEPTIONS = frozenset(
    {
        "ConfigEntryAuthFailed",
        "ConfigEntryError",
        "ConfigEntryNotReady",
        "HomeAssistantError",
        "PlatformNotReady",
        "ServiceValidationError",
        "UpdateFailed",
    }
)
ISSUE_FUNCTIONS = frozenset({"async_create_issue", "create_issue"})
FLOW_BASES = {
    "AbstractOAuth2FlowHandler": "config",
    "ConfigFlow": "config",
    "ConfigSubentryFlow": "subentry",
    "OptionsFlow": "options",
    "OptionsFlowWithConfigEntry": "options",
    "OptionsFlowWithReload": "options",
    "RepairsFlow": "repair",
    "ConfirmRepairFlow": "repair",
}
OAUTH2_ABORTS: dict[str, frozenset[str]] = {
    "authorize_url_timeout": frozenset(),
    "missing_configuration": frozenset(),
    "missing_credentials": frozenset(),
    "no_url_available": frozenset({"docs_url"}),
    "oauth_error": frozenset(),
    "oauth_failed": frozenset(),
    "oauth_timeout": frozenset(),
    "oauth_unauthorized": frozenset(),
    "user_rejected_authorize": frozenset({"error"}),
}
FILE_SECTIONS = {
    "application_credentials": ("application_credentials.py",),
    "device_automation": ("device_trigger.py", "device_condition.py", "device_action.py"),
    "system_health": ("system_health.py",),
    "conversation": ("conversation.py",),
}

RE_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_]\w*)\s*[,}]")
RE_README_MINIMUM = (
    re.compile(r"Home Assistant\s+(\d{4}\.\d{1,2}(?:\.\d+)?)\s+or\s+(?:newer|later|higher|above)"),
    re.compile(
        r"(?:[Rr]equires|[Mm]inimum)[^\n.]*?Home Assistant[^\d\n]*(\d{4}\.\d{1,2}(?:\.\d+)?)"
    ),
)


def placeholders_in(text: str) -> set[str]:
    """Names of the `{placeholder}`s a translation string expects."""
    return set(RE_PLACEHOLDER.findall(text))


def call_name(call: ast.Call) -> str:
    """The called name: `f` for `f(...)` and `m` for `x.m(...)`."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    """A call's named arguments."""
    return {kw.arg: kw.value for kw in call.keywords if kw.arg is not None}


def target_index(target: ast.expr, name: str) -> tuple[int, ...] | None:
    """Where `name` sits in an assignment target: () for the whole value, or its tuple path."""
    if isinstance(target, ast.Name):
        return () if target.id == name else None
    if isinstance(target, ast.Tuple | ast.List):
        for position, element in enumerate(target.elts):
            if (inner := target_index(element, name)) is not None:
                return (position, *inner)
    return None


def walk_scope(scope: ast.AST) -> Iterator[ast.AST]:
    """Every node of a function's own body, not of the functions or classes nested in it."""
    stack: list[ast.AST] = (
        [scope.body] if isinstance(scope, ast.Lambda) else list(getattr(scope, "body", []))
    )
    while stack:
        node = stack.pop()
        yield node
        stack.extend(
            child for child in ast.iter_child_nodes(node) if not isinstance(child, NESTED_SCOPES)
        )


def lookup(data: Any, path: Iterable[str]) -> list[Any]:
    """Every value at `path` in nested dicts; `*` matches any key."""
    nodes = [data]
    for part in path:
        found: list[Any] = []
        for node in nodes:
            if not isinstance(node, dict):
                continue
            if part == "*":
                found.extend(node.values())
            elif part in node:
                found.append(node[part])
        nodes = found
    return nodes


def leaf_strings(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in nested dicts, with its path."""
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from leaf_strings(value, (*path, str(key)))


def dotted(path: Iterable[str]) -> str:
    """A key path as hassfest prints it."""
    return ".".join(path)


class Module:
    """One parsed module of the integration, with its top-level names indexed."""

    def __init__(self, path: Path) -> None:
        """Parse the module."""
        self.path = path
        self.name = path.stem
        self.file = path.name
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=path.name)
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.constants: dict[str, list[ast.expr]] = {}
        self.functions: dict[str, FunctionNode] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        self.imports: dict[str, tuple[str, str | None]] = {}
        self.external: dict[str, str] = {}
        self._index(self.tree.body)
        self.calls = [node for node in ast.walk(self.tree) if isinstance(node, ast.Call)]

    def _index(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            match stmt:
                case ast.Assign(targets=targets, value=value):
                    for target in targets:
                        if isinstance(target, ast.Name):
                            self.constants.setdefault(target.id, []).append(value)
                case ast.AnnAssign(target=ast.Name(id=name), value=value) if value is not None:
                    self.constants.setdefault(name, []).append(value)
                case ast.FunctionDef() | ast.AsyncFunctionDef():
                    self.functions[stmt.name] = stmt
                case ast.ClassDef():
                    self.classes[stmt.name] = stmt
                case ast.ImportFrom(module=module, level=level, names=names):
                    for alias in names:
                        local = alias.asname or alias.name
                        if level == 1:
                            self.imports[local] = (
                                (alias.name, None) if module is None else (module, alias.name)
                            )
                        elif level == 0 and module:
                            self.external[local] = f"{module}.{alias.name}"
                case ast.Import(names=names):
                    for alias in names:
                        if alias.asname:
                            self.external[alias.asname] = alias.name
                case ast.If(body=inner, orelse=orelse):
                    self._index(inner)
                    self._index(orelse)
                case ast.Try(body=inner, handlers=handlers, orelse=orelse, finalbody=final):
                    self._index(inner)
                    for handler in handlers:
                        self._index(handler.body)
                    self._index(orelse)
                    self._index(final)

    def site(self, node: ast.AST) -> str:
        """Where a node is: `file.py:line`."""
        return f"{self.file}:{getattr(node, 'lineno', 0)}"

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        """The node's enclosing nodes, innermost first."""
        parent = self.parents.get(node)
        while parent is not None:
            yield parent
            parent = self.parents.get(parent)

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The class a node is written in."""
        return next((a for a in self.ancestors(node) if isinstance(a, ast.ClassDef)), None)

    def enclosing_function(self, node: ast.AST) -> FunctionNode | None:
        """The function a node is written in."""
        return next(
            (
                a
                for a in self.ancestors(node)
                if isinstance(a, ast.FunctionDef | ast.AsyncFunctionDef)
            ),
            None,
        )


@dataclass(eq=False)
class Binding:
    """Where a name gets its value: an expression, an iterated item, a parameter or an except."""

    module: Module
    kind: str
    node: ast.AST
    index: tuple[int, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class KeyUse:
    """A translation key the code relies on."""

    path: tuple[str, ...]
    site: str
    provided: frozenset[str] | None = frozenset()
    node: bool = False
    what: str = ""
    required: bool = True


@dataclass(frozen=True)
class KeySite:
    """A `translation_key=` in the code, what it was recognised as and the keys it resolved to."""

    site: str
    category: str
    keys: frozenset[str]


@dataclass
class FlowReport:
    """The translation keys of every flow, and what could not be mapped."""

    uses: list[KeyUse] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


class Integration:
    """A custom integration folder: its JSON and YAML files and its parsed Python source."""

    def __init__(self, path: Path, root: Path | None = None) -> None:
        """Parse every module of the integration at `path`; `root` is the repository."""
        self.path = path
        self.root = root if root is not None else path.parents[1]
        self.domain = path.name
        self.modules = {file.stem: Module(file) for file in sorted(path.glob("*.py"))}

    # Files

    def read_json(self, relative: str) -> tuple[Any, str | None]:
        """A JSON file of the integration, or the reason it cannot be read."""
        file = self.path / relative
        if not file.is_file():
            return None, f"{relative}: file is missing"
        try:
            return json.loads(file.read_text(encoding="utf-8")), None
        except ValueError as err:
            return None, f"{relative}: invalid JSON: {err}"

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """manifest.json, or {} when it is unreadable."""
        data, _ = self.read_json("manifest.json")
        return data if isinstance(data, dict) else {}

    @cached_property
    def strings_json(self) -> dict[str, Any]:
        """strings.json, or {} when it is unreadable."""
        data, _ = self.read_json("strings.json")
        return data if isinstance(data, dict) else {}

    def read_services(self) -> tuple[dict[str, Any] | None, str | None]:
        """services.yaml (None when there is none), or the reason it cannot be read."""
        file = self.path / "services.yaml"
        if not file.is_file():
            return None, None
        try:
            return dict(load_yaml_dict(str(file))), None
        except HomeAssistantError as err:
            return {}, f"services.yaml: invalid YAML: {err}"

    # Symbols and classes

    def resolve_symbol(
        self, module: Module, name: str, depth: int = 0
    ) -> tuple[Module, str] | None:
        """The integration module that defines `name` as seen from `module`."""
        if name in module.constants or name in module.functions or name in module.classes:
            return module, name
        target = module.imports.get(name)
        if target is None or depth > 5 or target[1] is None or target[0] not in self.modules:
            return None
        return self.resolve_symbol(self.modules[target[0]], target[1], depth + 1)

    def external_value(self, module: Module, name: str) -> object:
        """The value of a name imported from Home Assistant, if it can be imported."""
        path = module.external.get(name)
        if path is None or not path.startswith("homeassistant."):
            return None
        module_path, _, attribute = path.rpartition(".")
        try:
            return getattr(importlib.import_module(module_path), attribute)
        except (ImportError, AttributeError):
            return None

    def lookup_class(self, module: Module, name: str) -> tuple[Module, ast.ClassDef] | None:
        """A class of the integration by the name `module` uses for it."""
        if (found := self.resolve_symbol(module, name)) and found[1] in found[0].classes:
            return found[0], found[0].classes[found[1]]
        return None

    def _base_exprs(self, cls: ast.ClassDef) -> Iterator[ast.expr]:
        for base in cls.bases:
            yield base.value if isinstance(base, ast.Subscript) else base

    def mro(self, module: Module, cls: ast.ClassDef) -> list[tuple[Module, ast.ClassDef]]:
        """The class and its integration ancestors, nearest first."""
        order: list[tuple[Module, ast.ClassDef]] = []
        stack = [(module, cls)]
        while stack:
            current = stack.pop(0)
            if any(current[1] is known for _, known in order):
                continue
            order.append(current)
            for base in self._base_exprs(current[1]):
                if isinstance(base, ast.Name) and (found := self.lookup_class(current[0], base.id)):
                    stack.append(found)
        return order

    def external_bases(self, module: Module, cls: ast.ClassDef) -> set[str]:
        """Names of the classes outside the integration that the class derives from."""
        names: set[str] = set()
        for current_module, current in self.mro(module, cls):
            for base in self._base_exprs(current):
                if isinstance(base, ast.Name):
                    if self.lookup_class(current_module, base.id) is None:
                        names.add(base.id)
                elif isinstance(base, ast.Attribute):
                    names.add(base.attr)
        return names

    @cached_property
    def all_classes(self) -> list[tuple[Module, ast.ClassDef]]:
        """Every class of the integration, nested ones included."""
        return [
            (module, node)
            for module in self.modules.values()
            for node in ast.walk(module.tree)
            if isinstance(node, ast.ClassDef)
        ]

    def descendants(self, module: Module, cls: ast.ClassDef) -> list[tuple[Module, ast.ClassDef]]:
        """Integration classes deriving from the class."""
        return [
            (other_module, other)
            for other_module, other in self.all_classes
            if other is not cls and any(c is cls for _, c in self.mro(other_module, other))
        ]

    def family(self, module: Module, cls: ast.ClassDef) -> list[tuple[Module, ast.ClassDef]]:
        """The class, its ancestors and its descendants."""
        return self.mro(module, cls) + self.descendants(module, cls)

    def methods(
        self, classes: Iterable[tuple[Module, ast.ClassDef]], name: str
    ) -> list[tuple[Module, FunctionNode]]:
        """Methods called `name` in the classes."""
        return [
            (module, stmt)
            for module, cls in classes
            for stmt in cls.body
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name
        ]

    # Resolving expressions to the strings they can hold

    def strings(
        self, module: Module, expr: ast.AST | None, seen: frozenset[int] = frozenset()
    ) -> set[str]:
        """Every string literal the expression can evaluate to, as far as the source shows."""
        if expr is None or id(expr) in seen or len(seen) > 80:
            return set()
        seen = seen | {id(expr)}
        match expr:
            case ast.Constant(value=str() as value):
                return {value}
            case ast.BoolOp(values=values):
                return set().union(*(self.strings(module, v, seen) for v in values))
            case ast.IfExp(body=body, orelse=orelse):
                return self.strings(module, body, seen) | self.strings(module, orelse, seen)
            case ast.Tuple(elts=elts) | ast.List(elts=elts) | ast.Set(elts=elts):
                return set().union(*(self.strings(module, e, seen) for e in elts))
            case ast.Starred(value=value) | ast.NamedExpr(value=value) | ast.Await(value=value):
                return self.strings(module, value, seen)
            case ast.GeneratorExp(elt=elt) | ast.ListComp(elt=elt) | ast.SetComp(elt=elt):
                return self.strings(module, elt, seen)
            case ast.Name():
                return self._name_strings(module, expr, seen)
            case ast.Attribute():
                return self._attribute_strings(module, expr, seen)
            case ast.Call():
                return self._call_strings(module, expr, seen)
            case ast.Subscript(value=value):
                return set().union(
                    *(
                        self.strings(m, v, seen)
                        for m, d in self._dicts(module, value)
                        for v in d.values
                    )
                )
        return set()

    def bindings(self, module: Module, node: ast.Name) -> list[Binding]:
        """Where the name used at `node` gets its value."""
        name = node.id
        for ancestor in module.ancestors(node):
            if isinstance(ancestor, COMPREHENSIONS):
                for generator in ancestor.generators:
                    if (index := target_index(generator.target, name)) is not None:
                        return [Binding(module, "iter", generator.iter, index)]
            elif isinstance(ancestor, SCOPES):
                arguments = ancestor.args
                params = [
                    a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
                ]
                if name in params:
                    return [Binding(module, "param", ancestor, name=name)]
                if not isinstance(ancestor, ast.Lambda) and (
                    local := self._local_bindings(module, ancestor, name)
                ):
                    return local
        if found := self.resolve_symbol(module, name):
            defining, real = found
            return [Binding(defining, "expr", value) for value in defining.constants.get(real, [])]
        return []

    def _local_bindings(self, module: Module, scope: FunctionNode, name: str) -> list[Binding]:
        found: list[Binding] = []
        for node in walk_scope(scope):
            match node:
                case ast.Assign(targets=targets, value=value):
                    for target in targets:
                        if (index := target_index(target, name)) is not None:
                            found.append(Binding(module, "item" if index else "expr", value, index))
                case ast.AnnAssign(target=ast.Name(id=target), value=value) if (
                    target == name and value is not None
                ):
                    found.append(Binding(module, "expr", value))
                case ast.NamedExpr(target=ast.Name(id=target), value=value) if target == name:
                    found.append(Binding(module, "expr", value))
                case (
                    ast.For(target=target, iter=iterable)
                    | ast.AsyncFor(target=target, iter=iterable)
                ):
                    if (index := target_index(target, name)) is not None:
                        found.append(Binding(module, "iter", iterable, index))
                case ast.ExceptHandler(name=handler_name, type=kind) if (
                    handler_name == name and kind is not None
                ):
                    found.append(Binding(module, "except", kind))
        return found

    def _binding_strings(self, binding: Binding, seen: frozenset[int]) -> set[str]:
        module = binding.module
        if binding.kind == "expr":
            return self.strings(module, binding.node, seen)
        if binding.kind == "item":
            return set().union(
                *(
                    self.strings(m, item, seen)
                    for m, item in self._pick(module, binding.node, binding.index, seen)
                )
            )
        if binding.kind == "iter":
            picked: set[str] = set()
            for item_module, item in self.items(module, binding.node, seen):
                for m, value in self._pick(item_module, item, binding.index, seen):
                    picked |= self.strings(m, value, seen)
            return picked
        if binding.kind == "param" and isinstance(
            binding.node, ast.FunctionDef | ast.AsyncFunctionDef
        ):
            return self._param_strings(module, binding.node, binding.name, seen)
        return set()

    def _pick(
        self, module: Module, item: Any, index: tuple[int, ...], seen: frozenset[int]
    ) -> list[tuple[Module, ast.AST]]:
        if not index:
            return [(module, item)] if isinstance(item, ast.AST) else []
        head, rest = index[0], index[1:]
        if isinstance(item, tuple):
            return self._pick(module, item[head], rest, seen) if head < len(item) else []
        if isinstance(item, ast.Tuple | ast.List):
            return self._pick(module, item.elts[head], rest, seen) if head < len(item.elts) else []
        if isinstance(item, ast.Name):
            return [
                picked
                for binding in self.bindings(module, item)
                if binding.kind == "expr"
                for picked in self._pick(binding.module, binding.node, index, seen)
            ]
        return []

    def items(
        self, module: Module, expr: ast.AST, seen: frozenset[int] = frozenset()
    ) -> list[tuple[Module, Any]]:
        """The elements iterating over the expression yields, as far as the source shows."""
        if id(expr) in seen or len(seen) > 80:
            return []
        seen = seen | {id(expr)}
        match expr:
            case ast.Tuple(elts=elts) | ast.List(elts=elts) | ast.Set(elts=elts):
                return [(module, element) for element in elts]
            case ast.Dict(keys=keys):
                return [(module, key) for key in keys if key is not None]
            case ast.Name(id=name):
                if found := self.lookup_class(module, name):
                    class_module, cls = found
                    return [
                        (class_module, stmt.value)
                        for stmt in cls.body
                        if isinstance(stmt, ast.Assign) and stmt.value is not None
                    ]
                return [
                    item
                    for binding in self.bindings(module, expr)
                    if binding.kind == "expr"
                    for item in self.items(binding.module, binding.node, seen)
                ]
            case ast.Call(func=ast.Attribute(attr="items", value=value)):
                return [
                    (m, (key, item))
                    for m, d in self._dicts(module, value)
                    for key, item in zip(d.keys, d.values, strict=True)
                    if key is not None
                ]
            case ast.Call(func=ast.Attribute(attr="values", value=value)):
                return [(m, item) for m, d in self._dicts(module, value) for item in d.values]
            case ast.Call(func=ast.Attribute(attr="keys", value=value)):
                return [(m, key) for m, d in self._dicts(module, value) for key in d.keys if key]
            case ast.Call(
                func=ast.Name(id="list" | "tuple" | "set" | "sorted" | "frozenset"), args=[arg]
            ):
                return self.items(module, arg, seen)
        return []

    def _dicts(self, module: Module, expr: ast.AST) -> list[tuple[Module, ast.Dict]]:
        if isinstance(expr, ast.Dict):
            return [(module, expr)]
        if isinstance(expr, ast.Name):
            return [
                (binding.module, binding.node)
                for binding in self.bindings(module, expr)
                if binding.kind == "expr" and isinstance(binding.node, ast.Dict)
            ]
        return []

    def _name_strings(self, module: Module, node: ast.Name, seen: frozenset[int]) -> set[str]:
        if bindings := self.bindings(module, node):
            return set().union(*(self._binding_strings(b, seen) for b in bindings))
        value = self.external_value(module, node.id)
        return {str(value)} if isinstance(value, str) else set()

    def self_attribute_values(
        self, module: Module, cls: ast.ClassDef, attribute: str
    ) -> list[tuple[Module, ast.AST]]:
        """Every value assigned to `self.<attribute>` in the class's family."""
        values: list[tuple[Module, ast.AST]] = []
        for member_module, member in self.family(module, cls):
            for stmt in member.body:
                match stmt:
                    case ast.Assign(targets=targets, value=value) if any(
                        isinstance(t, ast.Name) and t.id == attribute for t in targets
                    ):
                        values.append((member_module, value))
                    case ast.AnnAssign(target=ast.Name(id=name), value=value) if (
                        name == attribute and value is not None
                    ):
                        values.append((member_module, value))
                    case ast.FunctionDef(name=name) if name == attribute:
                        values.extend((member_module, r) for r in self._return_values(stmt))
            for node in ast.walk(member):
                match node:
                    case ast.Assign(targets=targets, value=value) if any(
                        _is_self_attribute(t, attribute) for t in targets
                    ):
                        values.append((member_module, value))
                    case ast.AnnAssign(target=target, value=value) if (
                        value is not None and _is_self_attribute(target, attribute)
                    ):
                        values.append((member_module, value))
        return values

    def _attribute_strings(
        self, module: Module, node: ast.Attribute, seen: frozenset[int]
    ) -> set[str]:
        if node.attr == "value":
            return self.strings(module, node.value, seen)
        base = node.value
        if not isinstance(base, ast.Name):
            return set()
        if base.id in ("self", "cls"):
            if (owner := module.enclosing_class(node)) is None:
                return set()
            return set().union(
                *(
                    self.strings(m, v, seen)
                    for m, v in self.self_attribute_values(module, owner, node.attr)
                )
            )
        if found := self.lookup_class(module, base.id):
            return set().union(
                *(
                    self.strings(m, stmt.value, seen)
                    for m, cls in self.mro(*found)
                    for stmt in cls.body
                    if isinstance(stmt, ast.Assign | ast.AnnAssign)
                    and stmt.value is not None
                    and any(
                        isinstance(t, ast.Name) and t.id == node.attr
                        for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
                    )
                )
            )
        result: set[str] = set()
        for binding in self.bindings(module, base):
            if binding.kind == "except":
                result |= self._exception_attribute_strings(
                    binding.module, binding.node, node.attr, seen
                )
                result |= self._typed_attribute_strings(
                    binding.module, binding.node, node.attr, seen
                )
            elif binding.kind == "param" and isinstance(binding.node, FunctionNode):
                arguments = binding.node.args
                annotation = next(
                    (
                        a.annotation
                        for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
                        if a.arg == binding.name
                    ),
                    None,
                )
                result |= self._typed_attribute_strings(binding.module, annotation, node.attr, seen)
        if not result:
            value = getattr(self.external_value(module, base.id), node.attr, None)
            if isinstance(value, str):
                result.add(str(value))
        return result

    def _typed_attribute_strings(
        self, module: Module, kind: ast.AST | None, attribute: str, seen: frozenset[int]
    ) -> set[str]:
        """Class-level values of `attribute` in the classes a type expression names."""
        names: list[ast.AST]
        match kind:
            case ast.Tuple(elts=elts):
                names = list(elts)
            case ast.BinOp(op=ast.BitOr()):
                names = [kind.left, kind.right]
            case None:
                names = []
            case _:
                names = [kind]
        result: set[str] = set()
        for name in names:
            if not isinstance(name, ast.Name) or not (found := self.lookup_class(module, name.id)):
                continue
            for class_module, cls in self.family(*found):
                for value in self.own_attribute_values(cls, attribute):
                    if any(
                        value is stmt.value
                        for stmt in cls.body
                        if isinstance(stmt, ast.Assign | ast.AnnAssign)
                    ):
                        result |= self.strings(class_module, value, seen)
        return result

    def _exception_attribute_strings(
        self, module: Module, kind: ast.AST, attribute: str, seen: frozenset[int]
    ) -> set[str]:
        names: list[ast.AST] = list(kind.elts) if isinstance(kind, ast.Tuple) else [kind]
        result: set[str] = set()
        for name in names:
            if not isinstance(name, ast.Name) or not (found := self.lookup_class(module, name.id)):
                continue
            constructed = [found, *self.descendants(*found)]
            for _, init in self.methods(self.mro(*found), "__init__"):
                params = [a.arg for a in (*init.args.posonlyargs, *init.args.args)]
                for node in ast.walk(init):
                    if not (
                        isinstance(node, ast.Assign)
                        and any(_is_self_attribute(t, attribute) for t in node.targets)
                        and isinstance(node.value, ast.Name)
                        and node.value.id in params
                    ):
                        continue
                    param = node.value.id
                    position = params.index(param) - 1
                    for call_module in self.modules.values():
                        for call in call_module.calls:
                            if not (
                                isinstance(call.func, ast.Name)
                                and (target := self.lookup_class(call_module, call.func.id))
                                and any(target[1] is c for _, c in constructed)
                            ):
                                continue
                            result |= self._argument_strings(
                                call_module, call, param, position, seen
                            )
        return result

    def _argument_strings(
        self, module: Module, call: ast.Call, name: str, position: int | None, seen: frozenset[int]
    ) -> set[str]:
        result: set[str] = set()
        for keyword in call.keywords:
            if keyword.arg == name:
                result |= self.strings(module, keyword.value, seen)
        if (
            position is not None
            and 0 <= position < len(call.args)
            and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1])
        ):
            result |= self.strings(module, call.args[position], seen)
        return result

    def _return_values(self, function: ast.AST) -> list[ast.expr]:
        return [
            node.value
            for node in walk_scope(function)
            if isinstance(node, ast.Return) and node.value is not None
        ]

    def _call_strings(self, module: Module, call: ast.Call, seen: frozenset[int]) -> set[str]:
        func = call.func
        if isinstance(func, ast.Name):
            if func.id == "next":
                return set().union(*(self.strings(module, a, seen) for a in call.args))
            if (found := self.resolve_symbol(module, func.id)) and found[1] in found[0].functions:
                defining = found[0]
                return set().union(
                    *(
                        self.strings(defining, r, seen)
                        for r in self._return_values(defining.functions[found[1]])
                    )
                )
            return set()
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in ("self", "cls") and (owner := module.enclosing_class(call)):
                return set().union(
                    *(
                        self.strings(m, r, seen)
                        for m, method in self.methods(self.family(module, owner), func.attr)
                        for r in self._return_values(method)
                    )
                )
            if func.attr == "get":
                values = {
                    s
                    for m, d in self._dicts(module, func.value)
                    for v in d.values
                    for s in self.strings(m, v, seen)
                }
                return values | set().union(*(self.strings(module, a, seen) for a in call.args[1:]))
        return set()

    def call_sites(
        self, module: Module, function: FunctionNode
    ) -> list[tuple[Module, ast.Call, int]]:
        """Calls of a function or method, with the offset of its first passed parameter."""
        parent = module.parents.get(function)
        static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list
        )
        sites: list[tuple[Module, ast.Call, int]] = []
        if isinstance(parent, ast.ClassDef):
            offset = 0 if static else 1
            for other in self.modules.values():
                sites.extend(
                    (other, call, offset)
                    for call in other.calls
                    if isinstance(call.func, ast.Attribute) and call.func.attr == function.name
                )
        elif isinstance(parent, ast.Module):
            for other in self.modules.values():
                sites.extend(
                    (other, call, 0)
                    for call in other.calls
                    if isinstance(call.func, ast.Name)
                    and self.resolve_symbol(other, call.func.id) == (module, function.name)
                )
        else:
            sites.extend(
                (module, call, 0)
                for call in module.calls
                if isinstance(call.func, ast.Name) and call.func.id == function.name
            )
        return sites

    def _param_strings(
        self, module: Module, function: FunctionNode, name: str, seen: frozenset[int]
    ) -> set[str]:
        arguments = function.args
        positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
        defaults = dict(
            zip(
                positional[len(positional) - len(arguments.defaults) :],
                arguments.defaults,
                strict=True,
            )
        )
        defaults |= {
            a.arg: d
            for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            if d is not None
        }
        result = self.strings(module, defaults.get(name), seen)
        for call_module, call, offset in self.call_sites(module, function):
            position = positional.index(name) - offset if name in positional else None
            result |= self._argument_strings(call_module, call, name, position, seen)
        return result

    def dict_keys(
        self, module: Module, expr: ast.AST | None, seen: frozenset[int] = frozenset()
    ) -> frozenset[str] | None:
        """The keys a dict expression can hold, or None when the source does not show them."""
        if expr is None or id(expr) in seen or len(seen) > 40:
            return None
        seen = seen | {id(expr)}
        keys: set[str] = set()
        match expr:
            case ast.Dict():
                for key, value in zip(expr.keys, expr.values, strict=True):
                    part = (
                        self.dict_keys(module, value, seen)
                        if key is None
                        else frozenset(self.strings(module, key, seen)) or None
                    )
                    if part is None:
                        return None
                    keys |= part
                return frozenset(keys)
            case ast.Name():
                bindings = self.bindings(module, expr)
                if not bindings or any(b.kind != "expr" for b in bindings):
                    return None
                for binding in bindings:
                    if (part := self.dict_keys(binding.module, binding.node, seen)) is None:
                        return None
                    keys |= part
                if scope := module.enclosing_function(expr):
                    for node in walk_scope(scope):
                        if isinstance(node, ast.Assign):
                            for target in node.targets:
                                if (
                                    isinstance(target, ast.Subscript)
                                    and isinstance(target.value, ast.Name)
                                    and target.value.id == expr.id
                                ):
                                    keys |= self.strings(module, target.slice, seen)
                return frozenset(keys)
            case ast.Attribute(value=ast.Name(id="self" | "cls"), attr=attribute):
                owner = module.enclosing_class(expr)
                values = self.self_attribute_values(module, owner, attribute) if owner else []
                if not values:
                    return None
                for value_module, assigned in values:
                    if (part := self.dict_keys(value_module, assigned, seen)) is None:
                        return None
                    keys |= part
                return frozenset(keys)
            case ast.IfExp(body=body, orelse=orelse):
                first, second = (
                    self.dict_keys(module, body, seen),
                    self.dict_keys(module, orelse, seen),
                )
                return None if first is None or second is None else first | second
            case ast.Call(func=ast.Name(id="dict")):
                return frozenset(kw.arg for kw in expr.keywords if kw.arg is not None)
        return None

    def dict_value_strings(self, module: Module, expr: ast.AST | None) -> set[str]:
        """Strings stored as values of a dict expression, `d[k] = v` in its function included."""
        if expr is None:
            return set()
        if isinstance(expr, ast.Dict):
            return set().union(*(self.strings(module, v) for v in expr.values))
        if not isinstance(expr, ast.Name):
            return set()
        values: set[str] = set()
        for binding in self.bindings(module, expr):
            if binding.kind in ("expr", "item") and isinstance(binding.node, ast.Dict):
                values |= self.dict_value_strings(binding.module, binding.node)
        if scope := module.enclosing_function(expr):
            for node in walk_scope(scope):
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == expr.id
                    for t in node.targets
                ):
                    values |= self.strings(module, node.value)
        return values

    def schema_fields(
        self, module: Module, expr: ast.AST | None, seen: frozenset[int] = frozenset()
    ) -> set[str]:
        """The field names of a voluptuous schema expression (sections left out)."""
        if expr is None or id(expr) in seen or len(seen) > 40:
            return set()
        seen = seen | {id(expr)}
        match expr:
            case ast.Call():
                name = call_name(expr)
                if name == "Schema" and expr.args:
                    return self.schema_fields(module, expr.args[0], seen)
                if name == "add_suggested_values_to_schema":
                    schema = expr.args[0] if expr.args else keywords(expr).get("data_schema")
                    return self.schema_fields(module, schema, seen)
                if name in ("Required", "Optional", "Exclusive", "Inclusive") and expr.args:
                    return self.strings(module, expr.args[0], seen)
                if name == "extend" and isinstance(expr.func, ast.Attribute):
                    extra = self.schema_fields(module, expr.args[0], seen) if expr.args else set()
                    return self.schema_fields(module, expr.func.value, seen) | extra
            case ast.Dict():
                fields: set[str] = set()
                for key, value in zip(expr.keys, expr.values, strict=True):
                    if key is None:
                        fields |= self.schema_fields(module, value, seen)
                    elif not (isinstance(value, ast.Call) and call_name(value) == "section"):
                        fields |= (
                            self.schema_fields(module, key, seen)
                            if isinstance(key, ast.Call)
                            else self.strings(module, key, seen)
                        )
                return fields
            case ast.Name():
                return set().union(
                    *(
                        self.schema_fields(b.module, b.node, seen)
                        for b in self.bindings(module, expr)
                        if b.kind == "expr"
                    )
                )
            case ast.IfExp(body=body, orelse=orelse):
                return self.schema_fields(module, body, seen) | self.schema_fields(
                    module, orelse, seen
                )
        return set()

    # What the code uses

    def is_description(self, module: Module, call: ast.Call) -> tuple[bool, str | None]:
        """Whether a call builds an entity description, and for which platform."""
        name = call_name(call)
        names: set[str] = set()
        if isinstance(call.func, ast.Name) and (found := self.lookup_class(module, call.func.id)):
            names = self.external_bases(*found)
        elif name.endswith("EntityDescription"):
            names = {name}
        if not any(n.endswith("EntityDescription") for n in names):
            return False, None
        return True, platform_from_names(names, "EntityDescription") or (
            module.name if module.name in PLATFORMS else None
        )

    @property
    def translation_key_sites(self) -> list[KeySite]:
        """Every `translation_key` in the code, classified."""
        return self._collected[1]

    @property
    def key_uses(self) -> list[KeyUse]:
        """Keys used outside the flows: entities, exceptions, issues, selectors, devices."""
        return self._collected[0]

    @cached_property
    def _collected(self) -> tuple[list[KeyUse], list[KeySite]]:
        uses: list[KeyUse] = []
        sites: list[KeySite] = []
        for module in self.modules.values():
            for call in module.calls:
                kw = keywords(call)
                if "translation_key" not in kw:
                    continue
                site = module.site(call)
                keys = frozenset(self.strings(module, kw["translation_key"]))
                provided = (
                    self.dict_keys(module, kw["translation_placeholders"])
                    if "translation_placeholders" in kw
                    else frozenset()
                )
                name = call_name(call)
                described, platform = self.is_description(module, call)
                if name in ISSUE_FUNCTIONS:
                    domain_expr = kw.get("translation_domain") or kw.get("domain")
                    if domain_expr is None and len(call.args) > 1:
                        domain_expr = call.args[1]
                    domains = self.strings(module, domain_expr)
                    if domains and self.domain not in domains:
                        continue
                    sites.append(KeySite(site, "issue", keys))
                    fixable = kw.get("is_fixable")
                    fix_flow = isinstance(fixable, ast.Constant) and fixable.value is True
                    for key in keys:
                        uses.append(KeyUse(("issues", key, "title"), site, provided, what="issue"))
                        if fix_flow:
                            uses.append(
                                KeyUse(("issues", key, "fix_flow"), site, provided, True, "issue")
                            )
                        else:
                            uses.append(
                                KeyUse(("issues", key, "description"), site, provided, what="issue")
                            )
                elif "translation_domain" in kw:
                    domains = self.strings(module, kw["translation_domain"])
                    if domains and self.domain not in domains:
                        continue
                    sites.append(KeySite(site, "exception", keys))
                    uses.extend(
                        KeyUse(("exceptions", key, "message"), site, provided, what="exception")
                        for key in keys
                    )
                elif described:
                    sites.append(
                        KeySite(site, f"entity:{platform}" if platform else "entity:?", keys)
                    )
                    if platform:
                        uses.extend(self._entity_uses(module, call, platform, keys, provided))
                elif name == "SelectSelectorConfig":
                    sites.append(KeySite(site, "selector", keys))
                    options = self._select_options(module, kw.get("options"))
                    for key in keys:
                        if options:
                            uses.extend(
                                KeyUse(("selector", key, "options", option), site, what="selector")
                                for option in options
                            )
                        else:
                            uses.append(KeyUse(("selector", key), site, node=True, what="selector"))
                elif name in ("DeviceInfo", "async_get_or_create"):
                    sites.append(KeySite(site, "device", keys))
                    uses.extend(
                        KeyUse(("device", key, "name"), site, provided, what="device")
                        for key in keys
                    )
                else:
                    sites.append(KeySite(site, "unknown", keys))
        for module, cls in self.all_classes:
            own = self.own_attribute_values(cls, "_attr_translation_key")
            if not own:
                continue
            platform = self.entity_platform(module, cls)
            platforms = (
                {platform}
                if platform
                else {
                    p for m, c in self.descendants(module, cls) if (p := self.entity_platform(m, c))
                }
            )
            name_none = any(
                isinstance(v, ast.Constant) and v.value is None
                for v in self.own_attribute_values(cls, "_attr_name")
            )
            for value in own:
                keys = frozenset(self.strings(module, value))
                site = module.site(value)
                label = ",".join(sorted(platforms)) or "?"
                sites.append(KeySite(site, f"entity:{label}", keys))
                if name_none:
                    continue
                uses.extend(
                    KeyUse(("entity", p, key, "name"), site, frozenset(), what="entity")
                    for p in sorted(platforms)
                    for key in keys
                )
        return uses, sites

    def entity_platform(self, module: Module, cls: ast.ClassDef) -> str | None:
        """The platform of an entity class, from its Home Assistant base or its module."""
        return platform_from_names(self.external_bases(module, cls), "Entity") or (
            module.name if module.name in PLATFORMS else None
        )

    def own_attribute_values(self, cls: ast.ClassDef, attribute: str) -> list[ast.expr]:
        """Values the class itself gives `attribute`, in its body or as `self.<attribute>`."""
        values: list[ast.expr] = []
        for stmt in cls.body:
            match stmt:
                case ast.Assign(targets=targets, value=value) if any(
                    isinstance(t, ast.Name) and t.id == attribute for t in targets
                ):
                    values.append(value)
                case ast.AnnAssign(target=ast.Name(id=name), value=value) if (
                    name == attribute and value is not None
                ):
                    values.append(value)
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign) and any(
                _is_self_attribute(t, attribute) for t in node.targets
            ):
                values.append(node.value)
        return values

    def _entity_uses(
        self,
        module: Module,
        call: ast.Call,
        platform: str,
        keys: frozenset[str],
        provided: frozenset[str] | None,
    ) -> list[KeyUse]:
        kw = keywords(call)
        site = module.site(call)
        uses: list[KeyUse] = []
        name = kw.get("name")
        name_none = isinstance(name, ast.Constant) and name.value is None
        device_class = kw.get("device_class")
        enum = isinstance(device_class, ast.Attribute) and device_class.attr == "ENUM"
        options = (
            self.strings(module, kw["options"])
            if "options" in kw and (enum or platform == "select")
            else set()
        )
        for key in keys:
            if not name_none:
                uses.append(
                    KeyUse(("entity", platform, key, "name"), site, provided, what="entity")
                )
            uses.extend(
                KeyUse(("entity", platform, key, "state", option), site, what="entity state")
                for option in sorted(options)
            )
        return uses

    def _select_options(self, module: Module, expr: ast.AST | None) -> set[str]:
        if expr is None:
            return set()
        options: set[str] = set()
        for item_module, item in self.items(module, expr):
            if isinstance(item, ast.Call) and call_name(item) == "SelectOptionDict":
                options |= self.strings(item_module, keywords(item).get("value"))
            elif isinstance(item, ast.Dict):
                for key, value in zip(item.keys, item.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "value":
                        options |= self.strings(item_module, value)
            elif isinstance(item, ast.AST):
                options |= self.strings(item_module, item)
        return options

    @cached_property
    def exceptions_without_translation(self) -> list[str]:
        """Home Assistant exceptions raised with a plain message instead of a translation key."""
        found: list[str] = []
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                if (
                    call_name(node.exc) in HA_EXCEPTIONS
                    and node.exc.args
                    and "translation_key" not in keywords(node.exc)
                ):
                    found.append(
                        f"{module.site(node)}: {call_name(node.exc)} raised without translation_key"
                    )
        return found

    # Flows

    def flow_kind(self, module: Module, cls: ast.ClassDef) -> str | None:
        """config, options, subentry or repair, from the Home Assistant flow base class."""
        bases = self.external_bases(module, cls)
        for base, kind in FLOW_BASES.items():
            if base in bases:
                return kind
        return None

    @cached_property
    def config_flows(self) -> list[tuple[Module, ast.ClassDef]]:
        """Config flow classes registered for a domain (`class X(ConfigFlow, domain=...)`)."""
        return [
            (module, cls)
            for module, cls in self.all_classes
            if any(kw.arg == "domain" for kw in cls.keywords)
        ]

    def step_methods(self, module: Module, cls: ast.ClassDef) -> set[str]:
        names = {
            stmt.name
            for _, member in self.mro(module, cls)
            for stmt in member.body
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if "AbstractOAuth2FlowHandler" in self.external_bases(module, cls):
            names |= {"async_step_pick_implementation", "async_step_auth", "async_step_creation"}
        return names

    @cached_property
    def flows(self) -> FlowReport:
        """Translation keys of the registered config flow, options, subentry and repair flows."""
        report = FlowReport()
        concrete: list[tuple[Module, ast.ClassDef, tuple[str, ...]]] = []
        subentry_types: dict[int, list[str]] = {}
        for module, cls in self.config_flows:
            concrete.append((module, cls, ("config",)))
            for method_module, method in self.methods(
                self.mro(module, cls), "async_get_supported_subentry_types"
            ):
                for value in self._return_values(method):
                    for d_module, d in self._dicts(method_module, value):
                        for key, flow in zip(d.keys, d.values, strict=True):
                            if isinstance(flow, ast.Name) and (
                                found := self.lookup_class(d_module, flow.id)
                            ):
                                subentry_types.setdefault(id(found[1]), []).extend(
                                    sorted(self.strings(d_module, key))
                                )
        for module, cls in self.all_classes:
            kind = self.flow_kind(module, cls)
            if kind in (None, "config") or self.descendants(module, cls):
                continue
            if kind == "options":
                concrete.append((module, cls, ("options",)))
            elif kind == "repair":
                concrete.append((module, cls, ("issues", "*", "fix_flow")))
            elif id(cls) in subentry_types:
                concrete.extend(
                    (module, cls, ("config_subentries", kind_name))
                    for kind_name in subentry_types[id(cls)]
                )
            else:
                report.problems.append(
                    f"{module.site(cls)}: subentry flow {cls.name} is not returned by the config "
                    "flow's async_get_supported_subentry_types, so its strings have no "
                    "config_subentries.<type> to live in"
                )
        for module, cls, prefix in concrete:
            self._flow_uses(module, cls, prefix, report)
        return report

    def _flow_uses(
        self, module: Module, cls: ast.ClassDef, prefix: tuple[str, ...], report: FlowReport
    ) -> None:
        steps = self.step_methods(module, cls)
        externals = self.external_bases(module, cls)
        kind = self.flow_kind(module, cls)
        has_reauth = any(s.startswith("async_step_reauth") for s in steps)
        has_reconfigure = "async_step_reconfigure" in steps

        def add(
            path: tuple[str, ...],
            site: str,
            provided: frozenset[str] | None,
            node: bool = False,
            what: str = "",
            required: bool = True,
        ) -> None:
            report.uses.append(KeyUse((*prefix, *path), site, provided, node, what, required))

        if kind == "subentry":
            add(("entry_type",), module.site(cls), frozenset(), what="subentry type")
            add(("initiate_flow", "user"), module.site(cls), frozenset(), what="subentry type")
            if has_reconfigure:
                add(
                    ("initiate_flow", "reconfigure"),
                    module.site(cls),
                    frozenset(),
                    what="subentry type",
                )
        if "AbstractOAuth2FlowHandler" in externals:
            site = module.site(cls)
            add(("step", "pick_implementation"), site, frozenset(), True, "OAuth2 step")
            for reason, provided in OAUTH2_ABORTS.items():
                add(("abort", reason), site, provided, what="OAuth2 abort reason")
        for member_module, member in self.mro(module, cls):
            for call in (n for n in ast.walk(member) if isinstance(n, ast.Call)):
                self._flow_call(
                    member_module, call, add, report, steps, kind, has_reauth, has_reconfigure
                )

    def _flow_call(
        self,
        module: Module,
        call: ast.Call,
        add: Callable[..., None],
        report: FlowReport,
        steps: set[str],
        kind: str | None,
        has_reauth: bool,
        has_reconfigure: bool,
    ) -> None:
        name = call_name(call)
        kw = keywords(call)
        site = module.site(call)
        placeholders = (
            self.dict_keys(module, kw["description_placeholders"])
            if "description_placeholders" in kw
            else frozenset()
        )

        def reasons(expr: ast.AST | None, default: set[str], what: str) -> None:
            found = self.strings(module, expr) if expr is not None else default
            if not found:
                report.unresolved.append(f"{site}: {name} {what} could not be resolved")
            for reason in sorted(found):
                add(("abort", reason), site, placeholders, what=what)

        if name in ("async_show_form", "async_show_menu", "async_show_progress"):
            step_ids = self.strings(module, kw.get("step_id"))
            if not step_ids:
                report.unresolved.append(f"{site}: {name} step_id could not be resolved")
            for step_id in sorted(step_ids):
                add(
                    ("step", step_id),
                    site,
                    placeholders,
                    True,
                    "step",
                    name != "async_show_progress",
                )
                if name == "async_show_form":
                    for field_name in sorted(self.schema_fields(module, kw.get("data_schema"))):
                        add(
                            ("step", step_id, "data", field_name),
                            site,
                            placeholders,
                            what="form field",
                        )
                if name == "async_show_menu" and (options := kw.get("menu_options")) is not None:
                    if isinstance(options, ast.Dict):
                        continue
                    for option in sorted(self.strings(module, options)):
                        add(
                            ("step", step_id, "menu_options", option),
                            site,
                            placeholders,
                            what="menu option",
                        )
                        if f"async_step_{option}" not in steps:
                            report.problems.append(
                                f"{site}: menu option '{option}' of step '{step_id}' has no "
                                f"async_step_{option}"
                            )
                if name == "async_show_progress":
                    for action in sorted(self.strings(module, kw.get("progress_action"))):
                        add(("progress", action), site, placeholders, what="progress action")
            for error in sorted(self.dict_value_strings(module, kw.get("errors"))):
                add(("error", error), site, placeholders, what="form error")
        elif name == "async_abort":
            reasons(kw.get("reason"), set(), "abort reason")
        elif name == "AbortFlow":
            reasons(call.args[0] if call.args else kw.get("reason"), set(), "abort reason")
        elif name == "_abort_if_unique_id_configured":
            reasons(kw.get("error"), {"already_configured"}, "abort reason")
        elif name == "_abort_if_unique_id_mismatch":
            reasons(kw.get("reason"), {"unique_id_mismatch"}, "abort reason")
        elif name == "_async_abort_entries_match":
            reasons(None, {"already_configured"}, "abort reason")
        elif name == "_async_handle_discovery_without_unique_id":
            reasons(None, {"already_configured", "already_in_progress"}, "abort reason")
        elif name == "async_set_unique_id" and kind == "config":
            progress = kw.get("raise_on_progress")
            if not (isinstance(progress, ast.Constant) and progress.value is False):
                reasons(None, {"already_in_progress"}, "abort reason (async_set_unique_id)")
        elif name == "async_update_reload_and_abort":
            default = set()
            if has_reauth or not has_reconfigure:
                default.add("reauth_successful")
            if has_reconfigure:
                default.add("reconfigure_successful")
            reasons(kw.get("reason"), default, "abort reason")
        elif name == "async_update_and_abort" and kind == "subentry":
            reasons(None, {"reconfigure_successful"}, "abort reason")

    @cached_property
    def title_placeholders(self) -> frozenset[str] | None:
        """Keys assigned to `self.context["title_placeholders"]`, None when not visible."""
        keys: set[str] = set()
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                if not isinstance(node, ast.Assign):
                    continue
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.slice, ast.Constant)
                        and target.slice.value == "title_placeholders"
                    ):
                        if (found := self.dict_keys(module, node.value)) is None:
                            return None
                        keys |= found
        return frozenset(keys)

    # Services

    @cached_property
    def registered_services(self) -> dict[str, str]:
        """Service names the code registers for the integration's domain, with their site."""
        services: dict[str, str] = {}
        for module in self.modules.values():
            for call in module.calls:
                name = call_name(call)
                kw = keywords(call)
                domain_expr: ast.AST | None = None
                service_expr: ast.AST | None = None
                if (
                    name in ("async_register", "register")
                    and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Attribute)
                    and call.func.value.attr == "services"
                ):
                    domain_expr = call.args[0] if call.args else kw.get("domain")
                    service_expr = call.args[1] if len(call.args) > 1 else kw.get("service")
                elif name == "async_register_entity_service":
                    if len(call.args) > 2:
                        domain_expr, service_expr = call.args[1], call.args[2]
                    else:
                        service_expr = call.args[0] if call.args else kw.get("name")
                elif name in (
                    "async_register_platform_entity_service",
                    "async_register_admin_service",
                ):
                    domain_expr = call.args[1] if len(call.args) > 1 else kw.get("service_domain")
                    service_expr = call.args[2] if len(call.args) > 2 else kw.get("service_name")
                else:
                    continue
                domains = self.strings(module, domain_expr) if domain_expr is not None else set()
                if domains and self.domain not in domains:
                    continue
                for service in self.strings(module, service_expr):
                    services.setdefault(service, module.site(call))
        return services


def _is_self_attribute(target: ast.AST, attribute: str) -> bool:
    return (
        isinstance(target, ast.Attribute)
        and target.attr == attribute
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    )


def platform_from_names(names: Iterable[str], suffix: str) -> str | None:
    """The platform named by an entity or description base class, e.g. SensorEntity -> sensor."""
    special = {"RestoreSensor": "sensor", "RestoreNumber": "number"}
    for name in sorted(names):
        if name in special:
            return special[name]
        if not name.endswith(suffix) or name == suffix:
            continue
        stem = re.sub(r"(?<!^)(?=[A-Z])", "_", name[: -len(suffix)]).lower()
        stem = {"tracker": "device_tracker", "scanner": "device_tracker"}.get(stem, stem)
        if stem in PLATFORMS:
            return stem
    return None


# manifest.json


# hacs.json and README


def version_tuple(text: str) -> tuple[int, ...]:
    """A calendar version as three numbers: 2025.4 -> (2025, 4, 0)."""
    parts = [int(part) for part in re.findall(r"\d+", text)[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def _read_root_json(root: Path, name: str) -> tuple[Any, str | None]:
    file = root / name
    if not file.is_file():
        return None, f"{name}: file is missing"
    try:
        return json.loads(file.read_text(encoding="utf-8")), None
    except ValueError as err:
        return None, f"{name}: invalid JSON: {err}"


def readme_minimum(root: Path) -> set[str]:
    """Home Assistant versions the README states as the minimum."""
    file = root / "README.md"
    text = file.read_text(encoding="utf-8") if file.is_file() else ""
    return {match for pattern in RE_README_MINIMUM for match in pattern.findall(text)}


def check_hacs_minimum(root: Path) -> list[str]:
    """hacs.json `homeassistant`: the README states the same minimum, and the tests run it.

    HACS validates hacs.json's schema; it does not read the README nor know which Home
    Assistant releases the tests run, so the two minimums can drift apart unnoticed.
    """
    data, error = _read_root_json(root, "hacs.json")
    if error:
        return [error]
    minimum = data.get("homeassistant") if isinstance(data, dict) else None
    if not isinstance(minimum, str):
        return ["hacs.json: homeassistant: the minimum Home Assistant version is not set"]
    errors: list[str] = []
    if version_tuple(minimum) < version_tuple(MINIMUM_HA_VERSION):
        errors.append(f"hacs.json: homeassistant: {minimum} is older than {MINIMUM_HA_VERSION}")
    if version_tuple(minimum) > version_tuple(HA_VERSION):
        errors.append(
            f"hacs.json: homeassistant: {minimum} is newer than the Home Assistant the tests run "
            f"({HA_VERSION})"
        )
    stated = readme_minimum(root)
    if not stated:
        errors.append("README.md: states no minimum Home Assistant version")
    for version in sorted(stated):
        if version_tuple(version) != version_tuple(minimum):
            errors.append(
                f"README.md: states Home Assistant {version} as the minimum, "
                f"hacs.json says {minimum}"
            )
    return errors


# strings.json and translations/en.json


def check_uses(integration: Integration, uses: Iterable[KeyUse]) -> list[str]:
    """Translation keys used in code exist in strings.json.

    Covers exception, issue, entity, selector and device keys. hassfest validates strings.json
    alone and never reads the code, so a raised HomeAssistantError whose translation_key the
    file lacks passes it and shows the user a bare key.
    """
    missing: dict[tuple[str, ...], tuple[str, list[str]]] = {}
    for use in uses:
        if not use.required:
            continue
        found = lookup(integration.strings_json, use.path)
        wanted = dict if use.node else str
        if not any(isinstance(value, wanted) for value in found):
            sites = missing.setdefault(use.path, (use.what, []))[1]
            if use.site not in sites:
                sites.append(use.site)
    return [
        f"strings.json: {dotted(path)} is missing ({what} at {', '.join(sites)})"
        for path, (what, unsorted) in sorted(missing.items())
        if (sites := sorted(unsorted, key=_site_order))
    ]


def _site_order(site: str) -> tuple[str, int]:
    file, _, line = site.rpartition(":")
    return file, int(line) if line.isdigit() else 0


def uses_in(integration: Integration, *sections: str) -> list[KeyUse]:
    """Key uses whose path starts in one of the sections."""
    return [u for u in integration.key_uses if u.path[0] in sections]


def check_flow_translations(integration: Integration) -> list[str]:
    """Flow keys used in code (steps, fields, menus, errors, aborts, progress) have strings.

    hassfest validates the config/options/subentry sections' schema, not that each step,
    error or abort reason the flows use has its text.
    """
    report = integration.flows
    return report.problems + check_uses(integration, report.uses)


def check_services(integration: Integration) -> list[str]:
    """The services services.yaml and strings.json describe are the ones the code registers.

    hassfest checks services.yaml's schema and that every described service has strings; it
    does not read the code, so a service removed from the code but still described, or
    registered but never described, passes it.
    """
    registered = integration.registered_services
    described, error = integration.read_services()
    errors = [error] if error else []
    described = described or {}
    errors.extend(
        f"services.yaml: {name}: no code registers this service"
        for name in sorted(set(described) - set(registered))
    )
    errors.extend(
        f"services.yaml: {name} is missing (registered at {site})"
        for name, site in sorted(registered.items())
        if name not in described
    )
    errors.extend(
        f"strings.json: services.{name} describes a service the code does not register"
        for name in sorted(set(integration.strings_json.get("services", {})) - set(registered))
    )
    return errors


def check_en_json(integration: Integration) -> list[str]:
    """translations/en.json, what a custom integration shows, is strings.json.

    Home Assistant reads translations/ of a custom integration and never strings.json, nor
    does it resolve a [%key:...%] reference there; core builds en.json from strings.json, which
    hassfest does not do for custom integrations, so the copy must be kept identical by hand.
    """
    english, error = integration.read_json("translations/en.json")
    if error:
        return [error]
    errors: list[str] = []
    actual = dict(leaf_strings(english))
    wanted = dict(leaf_strings(integration.strings_json))
    for path, text in sorted(wanted.items()):
        if "[%key:" in text:
            errors.append(
                f"strings.json: {dotted(path)}: reference {text} (custom integrations' "
                "references are not resolved at runtime)"
            )
    for path in sorted(set(wanted) - set(actual)):
        errors.append(f"translations/en.json: {dotted(path)} is missing (strings.json has it)")
    for path in sorted(set(actual) - set(wanted)):
        errors.append(f"translations/en.json: {dotted(path)} is not in strings.json")
    for path in sorted(set(actual) & set(wanted)):
        if actual[path] != wanted[path]:
            errors.append(
                f"translations/en.json: {dotted(path)} is {actual[path]!r}, strings.json gives "
                f"{wanted[path]!r}"
            )
    return errors


def check_placeholders(integration: Integration) -> list[str]:
    """Placeholders: every {placeholder} in a used string is given where the code uses it.

    hassfest checks a string's placeholders are well formed, not that the code's
    translation_placeholders, description_placeholders or title_placeholders provide them.
    """
    resolved = integration.strings_json
    errors: set[str] = set()
    for use in [*integration.key_uses, *integration.flows.uses]:
        if use.provided is None:
            continue
        for value in lookup(resolved, use.path):
            for path, text in leaf_strings(value, use.path):
                if missing := placeholders_in(text) - use.provided:
                    given = ", ".join(sorted(use.provided)) or "none"
                    errors.add(
                        f"strings.json: {dotted(path)} needs {{{'}, {'.join(sorted(missing))}}} "
                        f"but {use.site} provides {given}"
                    )
    title = lookup(resolved, ("config", "flow_title"))
    provided = integration.title_placeholders
    if (
        title
        and isinstance(title[0], str)
        and provided is not None
        and (missing := placeholders_in(title[0]) - provided)
    ):
        errors.add(
            f"strings.json: config.flow_title needs {{{'}, {'.join(sorted(missing))}}} but "
            "the flows' title_placeholders do not set it"
        )
    return sorted(errors)


def check_sections_used(integration: Integration) -> list[str]:
    """Unused strings: no top-level section of strings.json is left without code that uses it.

    hassfest accepts any section its schema knows, used or not.
    """
    used = {"title"} | {use.path[0] for use in [*integration.key_uses, *integration.flows.uses]}
    if integration.registered_services:
        used.add("services")
    for section, files in FILE_SECTIONS.items():
        if any((integration.path / file).is_file() for file in files):
            used.add(section)
    prefix = f"[%key:component::{integration.domain}::common::"
    if any(text.startswith(prefix) for _, text in leaf_strings(integration.strings_json)):
        used.add("common")
    return [
        f"strings.json: top-level section '{section}' is not used by the code"
        for section in integration.strings_json
        if section not in used
    ]


def check_translation_key_sites(integration: Integration) -> list[str]:
    """Every translation_key in the code is one the checks above could resolve.

    Keeps check_uses and check_placeholders honest: a site the analysis cannot read would
    otherwise be skipped in silence.
    """
    errors: list[str] = []
    for site in integration.translation_key_sites:
        if site.category == "unknown":
            errors.append(f"{site.site}: translation_key in a call these checks do not recognise")
        elif site.category.endswith(":?"):
            errors.append(f"{site.site}: entity translation_key whose platform is unknown")
        if not site.keys:
            errors.append(f"{site.site}: translation_key could not be resolved to a string")
    return errors + integration.flows.unresolved


# icons.json


# quality_scale.yaml


def quality_scale(integration: Integration) -> tuple[dict[str, Any], str | None]:
    """The rules of quality_scale.yaml, or why they cannot be read."""
    file = integration.path / "quality_scale.yaml"
    if not file.is_file():
        return {}, "quality_scale.yaml: file is missing"
    try:
        data = load_yaml_dict(str(file))
    except HomeAssistantError as err:
        return {}, f"quality_scale.yaml: invalid YAML: {err}"
    rules = data.get("rules")
    if not isinstance(rules, dict):
        return {}, "quality_scale.yaml: rules: expected a mapping of rule names"
    return rules, None


def rule_status(value: Any) -> str | None:
    """done, exempt or todo."""
    status = value.get("status") if isinstance(value, dict) else value
    return status if isinstance(status, str) else None


def check_quality_scale_file(integration: Integration) -> list[str]:
    """quality_scale.yaml in hassfest's form, which hassfest checks in core only."""
    file = integration.path / "quality_scale.yaml"
    rules, error = quality_scale(integration)
    if error:
        return [error]
    errors: list[str] = []
    extra = set(load_yaml_dict(str(file))) - {"rules"}
    errors.extend(f"quality_scale.yaml: {key}: unknown top-level key" for key in sorted(extra))
    for rule, value in rules.items():
        where = f"quality_scale.yaml: rules.{rule}"
        if rule not in ALL_RULES:
            errors.append(f"{where}: not a rule of the quality scale")
        status = rule_status(value)
        if status not in ("done", "exempt", "todo"):
            errors.append(f"{where}: status must be done, exempt or todo, not {status!r}")
        if isinstance(value, dict):
            errors.extend(
                f"{where}.{key}: unknown key" for key in sorted(set(value) - {"status", "comment"})
            )
            if "comment" in value and not isinstance(value["comment"], str):
                errors.append(f"{where}.comment: must be text")
        if status == "exempt" and not (
            isinstance(value, dict)
            and isinstance(value.get("comment"), str)
            and value["comment"].strip()
        ):
            errors.append(f"{where}: exempt needs a comment saying why")
    return errors


def check_quality_rule(integration: Integration, rule: str) -> list[str]:
    """Quality scale tier (checked by hassfest in core only): the rule is done or exempt."""
    rules, error = quality_scale(integration)
    if error:
        return [error]
    tier = next(t for t, names in QUALITY_SCALE_RULES.items() if rule in names)
    if rule not in rules:
        return [f"quality_scale.yaml: rules.{rule} is missing ({tier})"]
    status = rule_status(rules[rule])
    if status == "todo":
        return [f"quality_scale.yaml: rules.{rule} is todo ({tier})"]
    if status not in ("done", "exempt"):
        return [f"quality_scale.yaml: rules.{rule} has status {status!r}"]
    return []


def _service_registration(function: FunctionNode) -> bool:
    for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "async_register_entity_service":
            return True
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("async_register", "register")
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "services"
        ):
            return True
    return False


def _rule_action_setup(integration: Integration) -> list[str]:
    """Quality scale `action-setup`: no service action is registered in async_setup_entry.

    hassfest's validators of this rule run for core integrations only.
    """
    return [
        f"{name}.py: async_setup_entry registers service actions; register them in async_setup"
        for name in ("__init__", *sorted(PLATFORMS))
        if (module := integration.modules.get(name))
        and (function := module.functions.get("async_setup_entry"))
        and _service_registration(function)
    ]


def _rule_docs(heading: str) -> Callable[[Integration], list[str]]:
    """Quality scale `docs-*` for the README: a section heading mentions `heading`.

    A custom integration has no home-assistant.io page, which is what the rule reads in core;
    neither hassfest nor HACS looks at the README's sections.
    """

    def check(integration: Integration) -> list[str]:
        readme = integration.root / "README.md"
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        if re.search(rf"^#+ .*{heading}", text, re.IGNORECASE | re.MULTILINE):
            return []
        return [f"README.md: no section heading mentioning '{heading}'"]

    return check


def _rule_docs_page(page: str, heading: str) -> Callable[[Integration], list[str]]:
    """Quality scale `docs-*` for a docs/ page: it exists, the README links it, a heading fits.

    The pages stand in for the home-assistant.io page a core integration has; neither hassfest
    nor HACS reads them.
    """

    def check(integration: Integration) -> list[str]:
        path = integration.root / page
        readme = integration.root / "README.md"
        if not path.is_file():
            return [f"{page}: missing"]
        if page not in (readme.read_text(encoding="utf-8") if readme.is_file() else ""):
            return [f"README.md: does not link {page}"]
        text = path.read_text(encoding="utf-8")
        if re.search(rf"^#+ .*{heading}", text, re.IGNORECASE | re.MULTILINE):
            return []
        return [f"{page}: no section heading mentioning '{heading}'"]

    return check


def _rule_exception_translations(integration: Integration) -> list[str]:
    """Quality scale `exception-translations`: no Home Assistant exception is raised with text.

    hassfest reads strings.json, never the code that raises.
    """
    return integration.exceptions_without_translation


def _rule_icon_translations(integration: Integration) -> list[str]:
    """Quality scale `icon-translations`: icons come from icons.json, not from the code.

    hassfest validates icons.json's schema, not that the code leaves icon= and _attr_icon alone.
    """
    errors = [] if (integration.path / "icons.json").is_file() else ["icons.json: missing"]
    for module in integration.modules.values():
        for call in module.calls:
            if integration.is_description(module, call)[0] and "icon" in keywords(call):
                errors.append(f"{module.site(call)}: entity description sets icon=")
        for _, cls in [(m, c) for m, c in integration.all_classes if m is module]:
            if integration.own_attribute_values(cls, "_attr_icon"):
                errors.append(f"{module.site(cls)}: {cls.name} sets _attr_icon")
    return errors


def _rule_entity_translations(integration: Integration) -> list[str]:
    """Quality scale `entity-translations`: every entity description names a translation_key.

    hassfest checks the entity section's schema, not which descriptions lack a key.
    """
    errors = []
    for module in integration.modules.values():
        for call in module.calls:
            described, _ = integration.is_description(module, call)
            kw = keywords(call)
            if described and not {"translation_key", "device_class", "name"} & set(kw):
                errors.append(f"{module.site(call)}: entity description without translation_key")
    return errors


def _rule_parallel_updates(integration: Integration) -> list[str]:
    """Quality scale `parallel-updates` over every platform module (see check_parallel_updates)."""
    return [
        error
        for name in sorted(PLATFORMS & set(integration.modules))
        for error in check_parallel_updates(integration, name)
    ]


QUALITY_RULE_CHECKS: dict[str, Callable[[Integration], list[str]]] = {
    "action-setup": _rule_action_setup,
    "docs-installation-instructions": _rule_docs("install"),
    "docs-removal-instructions": _rule_docs("remov"),
    "docs-high-level-description": _rule_docs_page(
        "docs/use-cases.md", "what tesla resilient does"
    ),
    "docs-use-cases": _rule_docs_page("docs/use-cases.md", "use cases"),
    "docs-configuration-parameters": _rule_docs_page("docs/configuration.md", "options"),
    "docs-installation-parameters": _rule_docs_page("docs/configuration.md", "sign in with tesla"),
    "docs-data-update": _rule_docs_page("docs/data-updates.md", "data updates"),
    "docs-examples": _rule_docs_page("docs/examples.md", "examples"),
    "docs-known-limitations": _rule_docs_page("docs/known-limitations.md", "known limitations"),
    "docs-supported-devices": _rule_docs_page("docs/supported-functions.md", "vehicles"),
    "docs-supported-functions": _rule_docs_page("docs/supported-functions.md", "entities"),
    "docs-troubleshooting": _rule_docs_page("docs/troubleshooting.md", "troubleshooting"),
    "entity-translations": _rule_entity_translations,
    "exception-translations": _rule_exception_translations,
    "icon-translations": _rule_icon_translations,
    "parallel-updates": _rule_parallel_updates,
}
"""Quality scale rules' evidence in the code and docs, for rules marked done. Every other done
rule is evidenced by the behavioural tests its quality_scale.yaml comment cites, which
check_cited_tests keeps honest."""

RE_CITED_FILE = re.compile(r"\btests/[\w/*.-]+\.py\b")
RE_CITED_TEST = re.compile(r"\btest_\w+\b")


def check_cited_tests(integration: Integration) -> list[str]:
    """Quality scale evidence: every test a quality_scale.yaml comment cites exists.

    The comments are the only evidence of rules such as `test-before-setup` or `stale-devices`
    for a custom integration (hassfest reads quality_scale.yaml in core only); a cited file or
    test that was renamed or removed would leave a claim without proof.
    """
    rules, error = quality_scale(integration)
    if error:
        return [error]
    tests = integration.root / "tests"
    every_test = {
        node.name
        for file in tests.rglob("test_*.py")
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    errors: list[str] = []
    for rule, value in rules.items():
        comment = value.get("comment") if isinstance(value, dict) else None
        if not isinstance(comment, str):
            continue
        where = f"quality_scale.yaml: rules.{rule}"
        errors.extend(
            f"{where}: cites {cited}, which does not exist"
            for cited in RE_CITED_FILE.findall(comment)
            if not any(integration.root.glob(cited))
        )
        errors.extend(
            f"{where}: cites {name}, which no test file defines"
            for name in RE_CITED_TEST.findall(RE_CITED_FILE.sub("", comment))
            if name not in every_test
        )
    return errors


# Modules


def check_parallel_updates(integration: Integration, name: str) -> list[str]:
    """Quality scale `parallel-updates` (core only in hassfest): a platform sets a whole number."""
    module = integration.modules[name]
    for value in module.constants.get("PARALLEL_UPDATES", []):
        if isinstance(value, ast.Constant) and type(value.value) is int and value.value >= 0:
            return []
        return [f"{module.file}: PARALLEL_UPDATES must be a whole number"]
    return [f"{module.file}: PARALLEL_UPDATES is not set"]


def check_docstring(integration: Integration, name: str) -> list[str]:
    """Project style, as in core's best-kept integrations: a one-line module docstring.

    Neither hassfest nor ruff's configured rules ask for it.
    """
    module = integration.modules[name]
    docstring = ast.get_docstring(module.tree, clean=False)
    if docstring is None:
        return [f"{module.file}: no module docstring"]
    if "\n" in docstring.strip() or not docstring.strip():
        return [f"{module.file}: the module docstring is not one line"]
    return []
