"""The layering docs/architecture.md states, held: ``openapi ← contracts ← mockserver``.

Every module of the three packages, and every example (users copy those), is read with
``ast``; each import, absolute or relative, at module level, in a function or under
``TYPE_CHECKING``, is resolved to a full module name and checked:

- no module imports another package's private module or name (``openapi._freeze``,
  ``from contracts import _engine``): the packages meet only through ``__all__``;
- no module imports a dependency's private module or name (``referencing._core``) except
  under ``TYPE_CHECKING``, where it costs nothing at run time and breaks only the types;
- no package imports one to its right, except the reaches listed in ``LAZY_REACHES``.

``tests/`` and ``benchmarks/`` are not checked: they reach into private modules on purpose
(the schema engine, the JSON parser, timing internals), as pyproject's ruff ignores say.
Imports made with ``importlib`` by name are not seen.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Left to right, as docs/architecture.md draws them: each may import those to its left.
LAYERS = ("openapi", "contracts", "mockserver")

# The deliberate upward reaches: (importing module, imported package) → why. Each must be
# lazy (inside a function) and of the package's public names only.
LAZY_REACHES = {
    ("contracts.pytest_plugin", "mockserver"): (
        "the pytest11 plugin starts the mock from inside its fixtures; loading the plugin "
        "imports nothing of the mock"
    ),
    ("contracts._plugin_cassettes", "mockserver"): (
        "the plugin's cassettes record and replay through the mock, likewise only when a "
        "test uses one"
    ),
}


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement, its module resolved to a full dotted name."""

    line: int
    module: str
    names: tuple[str, ...]  # a ``from`` import's names (each may be a module too)
    lazy: bool  # inside a function body
    typing_only: bool  # under ``if TYPE_CHECKING:``

    @property
    def package(self) -> str:
        return self.module.partition(".")[0]

    def private_parts(self) -> list[str]:
        """What is private in it: ``openapi._freeze``, ``referencing._core``, ``contracts._x``
        (from ``from contracts import _x``)."""
        top, *rest = self.module.split(".")
        found = [self.module] if any(_private(part) for part in rest) else []
        found += [f"{self.module}.{name}" for name in self.names if _private(name)]
        if _private(top) and top not in sys.stdlib_module_names:
            found.append(self.module)
        return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every import in ``source`` (the module ``module``), relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]

    def visit(nodes: Iterable[ast.AST], *, lazy: bool, typing_only: bool) -> Iterator[Import]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(node.lineno, alias.name, (), lazy, typing_only)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                names = tuple(alias.name for alias in node.names if alias.name != "*")
                yield Import(node.lineno, base, names, lazy, typing_only)
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                yield from visit(node.body, lazy=lazy, typing_only=True)
                yield from visit(node.orelse, lazy=lazy, typing_only=typing_only)
            else:
                inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                yield from visit(ast.iter_child_nodes(node), lazy=inner, typing_only=typing_only)

    yield from visit(ast.parse(source).body, lazy=False, typing_only=False)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _private(segment: str) -> bool:
    return segment.startswith("_") and not (segment.startswith("__") and segment.endswith("__"))


def problems(source: str, module: str, *, where: str, is_package: bool = False) -> list[str]:
    """Each broken rule, as ``where:line: what is wrong and how to fix it``."""
    own = module.partition(".")[0]
    found: list[str] = []
    for imp in imports(source, module, is_package=is_package):
        top = imp.package
        for name in imp.private_parts() if top != own else ():
            if top in LAYERS:
                found.append(
                    f"{where}:{imp.line}: imports {name}, private to {top}: use (or add) a "
                    f"name in {top}.__all__ instead"
                )
            elif not imp.typing_only:
                found.append(
                    f"{where}:{imp.line}: imports {name}, private to the dependency {top}: "
                    "use its public API, or import it under `if TYPE_CHECKING:` when only "
                    "annotations need it"
                )
        if own in LAYERS and top in LAYERS and LAYERS.index(top) > LAYERS.index(own):
            reason = LAZY_REACHES.get((module, top))
            if reason is None:
                found.append(
                    f"{where}:{imp.line}: imports {imp.module}, but {own} may not import "
                    f"{top} (openapi ← contracts ← mockserver, docs/architecture.md): move "
                    "the code down a layer, or have the caller pass it in"
                )
            elif not imp.lazy:
                found.append(
                    f"{where}:{imp.line}: imports {imp.module} at module level; {module} may "
                    f"import {top} only inside a function ({reason})"
                )
    found += _attribute_reaches(source, own, where=where)
    return found


def _attribute_reaches(source: str, own: str, *, where: str) -> list[str]:
    """``import contracts`` then ``contracts._engine.x``: a reach-in the imports hide."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}  # a name an ``import`` binds -> the module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    bound[top] = top
    found: list[str] = []
    for node in ast.walk(tree):  # each chain once, at its first private segment
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        chain, value = [node.attr], node.value
        while isinstance(value, ast.Attribute) and not _private(value.attr):
            chain.append(value.attr)
            value = value.value
        module = bound.get(value.id) if isinstance(value, ast.Name) else None
        if module is None:
            continue  # another private segment comes first, or no imported module
        top = module.partition(".")[0]
        if top != own and top not in sys.stdlib_module_names:
            found.append(
                f"{where}:{node.lineno}: reads {module}.{'.'.join(reversed(chain))}, private "
                f"to {top}: use (or add) a public name of {top} instead"
            )
    return found


def _checked_files() -> list[Path]:
    return sorted(
        path
        for folder in (*LAYERS, "examples")
        for path in (ROOT / folder).rglob("*.py")
        if ".venv" not in path.parts
    )


def _problems_of(path: Path) -> list[str]:
    where = path.relative_to(ROOT).as_posix()
    module = module_name(path) if where.split("/")[0] in LAYERS else path.stem
    return problems(
        path.read_text(encoding="utf-8"),
        module,
        where=where,
        is_package=path.name == "__init__.py",
    )


FILES = _checked_files()


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_imports_keep_the_layering(path: Path) -> None:
    found = _problems_of(path)
    assert not found, "\n".join(["imports that break the layering:", *found])


def test_every_allowed_reach_is_still_made() -> None:
    """An entry of LAZY_REACHES no code makes any more is a hole: remove it."""
    made = {
        (module_name(path), imp.package)
        for path in FILES
        if path.relative_to(ROOT).parts[0] in LAYERS
        for imp in imports(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
        )
    }
    assert set(LAZY_REACHES) <= made, set(LAZY_REACHES) - made


def test_the_layers_are_the_ones_drawn() -> None:
    """docs/architecture.md draws the order this test enforces, and names this test."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn = re.search(r"^(\w+)\s+←\s+(\w+)\s+←\s+(\w+)\s*$", doc, re.MULTILINE)
    assert drawn is not None
    assert drawn.groups() == LAYERS
    assert "tests/test_layering.py" in doc


# -- the checker itself: each rule catches what it should, and nothing else -------------------

CASES = [
    pytest.param("contracts._x", "from openapi._freeze import thaw", "private to openapi",
                 id="another-package-private-module"),
    pytest.param("mockserver._x", "from contracts import _engine", "private to contracts",
                 id="another-package-private-name"),
    pytest.param("mockserver._x", "import contracts._response", "private to contracts",
                 id="another-package-plain-import"),
    pytest.param("mockserver._x", "def f():\n    from openapi._spec import Spec\n",
                 "private to openapi", id="private-inside-a-function"),
    pytest.param("contracts.strategies._x", "from .._engine import engine_for", None,
                 id="relative-import-within-the-package"),
    pytest.param("contracts._schema._x", "from .. import _engine", None,
                 id="relative-import-of-a-private-name-within-the-package"),
    pytest.param("openapi._x", "from referencing._core import Resolver",
                 "private to the dependency referencing", id="dependency-private-at-run-time"),
    pytest.param("openapi._x", "from referencing import _core",
                 "private to the dependency referencing", id="dependency-private-name"),
    pytest.param("openapi._x",
                 "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                 "    from referencing._core import Resolver\n",
                 None, id="dependency-private-for-annotations-only"),
    pytest.param("openapi._x",
                 "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n"
                 "    from referencing._core import Resolver\n",
                 "private to the dependency", id="dependency-private-in-the-else-branch"),
    pytest.param("openapi._x", "from __future__ import annotations\nimport referencing", None,
                 id="dependency-public"),
    pytest.param("openapi._x", "import contracts", "openapi may not import contracts",
                 id="upward-one-layer"),
    pytest.param("openapi._x", "def f():\n    import mockserver\n",
                 "openapi may not import mockserver", id="upward-lazy-but-not-allowed"),
    pytest.param("contracts._x",
                 "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mockserver\n",
                 "contracts may not import mockserver", id="upward-for-annotations-only"),
    pytest.param("contracts.pytest_plugin", "from mockserver import create_app",
                 "only inside a function", id="allowed-reach-at-module-level"),
    pytest.param("contracts.pytest_plugin", "def f():\n    from mockserver import create_app\n",
                 None, id="allowed-reach-inside-a-function"),
    pytest.param("contracts.pytest_plugin", "def f():\n    from mockserver._app import x\n",
                 "private to mockserver", id="allowed-reach-to-a-private-module"),
    pytest.param("mockserver._x", "import openapi\nfrom contracts import check_request", None,
                 id="downward-public"),
    pytest.param("runware_client", "from mockserver._config import MockConfig",
                 "private to mockserver", id="example-private-module"),
    pytest.param("mockserver._x", "import contracts\nf = contracts._engine.engine_for\n",
                 "reads contracts._engine", id="attribute-reach-in"),
    pytest.param("openapi._x", "import referencing as r\nR = r._core.Resolver\n",
                 "reads referencing._core", id="attribute-reach-in-through-an-alias"),
    pytest.param("contracts._x", "import contracts\nf = contracts._engine\n", None,
                 id="attribute-within-the-package"),
    pytest.param("mockserver._x",
                 "import contracts.strategies\nf = contracts.strategies._invalid._case\n",
                 "reads contracts.strategies._invalid", id="attribute-reach-in-deeper"),
]  # fmt: skip


@pytest.mark.parametrize(("module", "source", "expected"), CASES)
def test_the_checker_catches(module: str, source: str, expected: str | None) -> None:
    found = problems(source, module, where="synthetic.py")
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1, found
        assert expected in found[0]
        assert found[0].startswith("synthetic.py:")
