"""The architecture's promises (docs/architecture.md): no import cycle among the package's
modules, model and scheme names only in their own modules, and documentation references that
resolve."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ddsolver.model import Model
from ddsolver.scheme import Scheme

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ddsolver"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that ``path`` imports, at module level or inside functions."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{target}.{alias.name}"
                out.add(full if full in modules else target)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return (out & modules) - {name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    files = list(PACKAGE.rglob("*.py"))
    modules = {_module_name(f) for f in files}
    graph = {_module_name(f): _imports(f, modules) for f in files}
    assert len(graph) > 50
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _string_literals(path: Path) -> set[str]:
    """String constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docstrings}


def test_model_and_scheme_names_live_in_their_own_modules():
    """Outside ddsolver/model/ no code names a model or a unit; outside ddsolver/scheme/ and the
    models (which list their schemes) none names a scheme ("w" is left out: it is also h5py's
    file mode)."""
    models = set(Model.registered()) | {u for m in Model.registered().values() for u in m.units}
    schemes = set(Scheme.registered())
    assert {"planar_teacher", "anisotropic_gaussians", "awb", "circle", "custom"} <= models
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        folder = path.relative_to(PACKAGE).parts[0]
        names = (models - {"w"} if folder != "model" else set()) | (
            schemes if folder not in ("scheme", "model") else set())
        offenders += [(str(path.relative_to(ROOT)), s) for s in _string_literals(path) & names]
    assert offenders == []


def _documents():
    return [p for p in ROOT.rglob("*") if p.suffix in (".py", ".md", ".toml") and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)]


def test_no_reference_to_the_teams_private_notes():
    private = "MATH" + ".md"
    assert [str(p) for p in _documents() if private in p.read_text()] == []


def test_section_references_resolve():
    """Every "theory.md §n" and "numerics.md §n" names a numbered heading of that file."""
    sections = {}
    for doc in ("theory.md", "numerics.md"):
        text = (ROOT / "docs" / doc).read_text()
        sections[doc] = set(re.findall(r"(?m)^#+ (\d+[a-z]?(?:\.\d+[a-z]?)?)[. ]", text))
        assert len(sections[doc]) > 10
    missing, checked = [], 0
    for path in _documents():
        for doc, first, rest in re.findall(
                r"(theory\.md|numerics\.md) §(\d+[a-z]?(?:\.\d+[a-z]?)?)((?:[,–-] ?§?\d+"
                r"[a-z]?(?:\.\d+[a-z]?)?)*)", path.read_text()):
            for number in [first, *re.findall(r"\d+[a-z]?(?:\.\d+[a-z]?)?", rest)]:
                checked += 1
                if number not in sections[doc]:
                    missing.append((str(path.relative_to(ROOT)), doc, number))
    assert checked > 80 and missing == []


def test_cited_test_files_exist():
    """Every tests/….py path named in the documentation exists."""
    cited = {(str(p.relative_to(ROOT)), name) for p in _documents() if p.suffix == ".md"
             for name in re.findall(r"tests/[\w/]+\.py", p.read_text())}
    assert len(cited) > 20
    assert sorted(c for c in cited if not (ROOT / c[1]).is_file()) == []
