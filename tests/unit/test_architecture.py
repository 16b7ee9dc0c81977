"""The shape the code must keep: no runtime import cycle inside agentkit/, a core that knows no
provider and no CLI, no probing of backends for members the contract does not declare, and one error
tree. Read from the source with ``ast``, so a violation fails here before it confuses a reader."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import agentkit
from agentkit import errors

PACKAGE = Path(agentkit.__file__).parent

OUTSIDE_THE_CORE = (
    "agentkit.__main__",
    "agentkit.cli",
    "agentkit.backends.openai",
    "agentkit.backends.local",
    "agentkit.backends.transformers",
    "agentkit.backends.llamacpp",
    "agentkit.mcp",
    "agentkit.batch",
    "agentkit.eval",
)
"""Front ends, provider backends and optional second-wave packages; everything else is the core."""

FORBIDDEN_FROM_THE_CORE = ("agentkit.cli", "agentkit.backends.openai", "agentkit.backends.transformers")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _owner(name: str) -> str:
    """The agentkit module an import of ``name`` loads (an attribute of a module: that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def runtime_imports(module: str) -> set[str]:
    """The agentkit modules ``module`` imports when it runs, at the top or inside functions; imports
    under ``if TYPE_CHECKING:`` are for type checkers only and do not count."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit_node(other)
            else:
                visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(_owner(alias.name) for alias in node.names if alias.name.startswith("agentkit"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            if base.startswith("agentkit"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in MODULES else _owner(base))
        else:
            visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    found.discard("")
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            strong(node)
    return found


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


CORE = sorted(m for m in MODULES if not _in(m, OUTSIDE_THE_CORE))


def test_there_is_no_runtime_import_cycle_inside_agentkit() -> None:
    graph = {module: runtime_imports(module) & set(MODULES) for module in MODULES}
    assert _cycles(graph) == []


def test_the_cycle_check_sees_cycles_through_deferred_imports() -> None:
    """The check itself: a cycle closed by an import inside a function is still a cycle."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert "agentkit.loop" in runtime_imports("agentkit.agent")  # imported inside a function


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_provider_backend_and_no_cli(module: str) -> None:
    bad = sorted(m for m in runtime_imports(module) if _in(m, FORBIDDEN_FROM_THE_CORE))
    assert bad == [], f"{module} imports {bad}"


def _probes_a_backend(node: ast.Call) -> bool:
    if not (isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")):
        return False
    return bool(node.args) and "backend" in ast.unparse(node.args[0]).lower()


@pytest.mark.parametrize("module", CORE)
def test_the_core_never_probes_a_backend_for_members(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    probes = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Call) and _probes_a_backend(n)]
    assert probes == [], f"{module}: {probes} (add the member to the Backend protocol instead)"


def _importable_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(agentkit.__path__, "agentkit."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed here
            continue
        names.append(info.name)
    return names


def test_every_public_error_class_lives_in_the_error_tree() -> None:
    """Subpackages raise the classes of agentkit.errors, or subclass them (or ModelRetry, for a tool's
    own refusals); no public exception class of agentkit's stands outside that tree."""
    tree = {cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, BaseException)}
    strays = []
    for name in _importable_modules():
        module = importlib.import_module(name)
        for attribute, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != name or not issubclass(cls, BaseException) or attribute.startswith("_"):
                continue
            if name == errors.__name__:
                continue
            if not any(base in tree for base in cls.__mro__[1:]):
                strays.append(f"{name}.{attribute}")
    assert strays == []


def test_the_error_tree_is_drawn_with_every_class() -> None:
    drawn = errors.__doc__ or ""
    classes = [
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == errors.__name__ and name != "ModelRetry"
    ]
    assert [name for name in classes if name not in drawn] == []
