"""The package's shape (issue 15): no import cycles, every module imports on its own, the Scrapyd egg and
the wheel carry the package and nothing else (no testkit/, tests/, bench/, cassette or bytecode), and the
declared dependencies cover what the package imports, so `pip install .` gives a working library.

Import cycles: an edge is an import written in a module (`import a.b`, `from a import b` where a.b is a
module, else `from a import x` is an edge to a), at module level, class bodies and if/try blocks
included (they run on import), `if TYPE_CHECKING:` blocks excluded (they never run). The implicit import
of parent packages is not an edge: Python imports a package's __init__ before its modules whatever they
import. Module-level edges must form no cycle. An import inside a function is how a cycle gets hidden:
those that close a cycle with the other imports are listed in HIDDEN_CYCLES, which may only shrink.
"""

from __future__ import annotations

import ast
import graphlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "newscrawl"
BIN = Path(sys.executable).parent

#: (importer, imported) → why: function-level imports that close a cycle. Remove an entry when its
#: cycle is gone (the test fails on a stale entry); never add one without a reason a reviewer accepts.
HIDDEN_CYCLES: dict[tuple[str, str], str] = {}

#: development tools: in requirements-dev.txt, never in the runtime pins (written by hand)
DEV_TOOLS = {"betamax", "execnet", "hypothesis", "iniconfig", "pluggy", "pytest", "pytest-timeout",
             "pytest-xdist", "ruff", "scrapyd", "scrapyd-client", "setuptools", "uberegg"}


def package_modules(package: str = "newscrawl", root: Path = ROOT) -> dict[str, Path]:
    """Module name → file, for every module of the package (a folder of `root`)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


@dataclass(frozen=True)
class Import:
    target: str  # the module imported (absolute, dotted)
    line: int
    deferred: bool  # inside a function: runs when called, not on import


def _type_checking(test: ast.expr) -> bool:
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == "TYPE_CHECKING"


def imports_of(name: str, path: Path, modules: dict[str, Path] | None = None) -> list[Import]:
    """Every import written in the module `name` (file `path`), relative ones made absolute. With
    `modules`, `from a import b` is resolved to the module a.b when it is one of them."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(statements, deferred: bool) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.extend(Import(alias.name, node.lineno, deferred) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.append(Import(sub if modules and sub in modules else base, node.lineno, deferred))
            elif isinstance(node, ast.If) and _type_checking(node.test):
                visit(node.orelse, deferred)
            else:
                inner = deferred or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                visit(ast.iter_child_nodes(node), inner)

    visit(ast.parse(path.read_text(encoding="utf-8")).body, False)
    return found


def import_graph(package: str, root: Path = ROOT) -> dict[str, list[Import]]:
    """Module → its imports of other modules of the package."""
    modules = package_modules(package, root)
    return {name: [i for i in imports_of(name, path, modules) if i.target in modules and i.target != name]
            for name, path in modules.items()}


def cycle_on_import(graph: dict[str, list[Import]]) -> list[str]:
    """A cycle of module-level imports, one line per import («a line N imports b»), or []."""
    on_import = {name: {i.target for i in imports if not i.deferred} for name, imports in graph.items()}
    try:
        tuple(graphlib.TopologicalSorter(on_import).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]  # [a, b, ..., a], each importing the next
        return [f"{a} line {next(i.line for i in graph[a] if i.target == b and not i.deferred)} imports {b}"
                for a, b in zip(cycle, cycle[1:], strict=False)]
    return []


def path(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A shortest chain of imports from `start` to `goal`, or None."""
    came_from, todo = {start: ""}, [start]
    for node in todo:
        if node == goal:
            chain = [node]
            while came_from[chain[-1]]:
                chain.append(came_from[chain[-1]])
            return chain[::-1]
        for nxt in sorted(graph[node]):
            if nxt not in came_from:
                came_from[nxt] = node
                todo.append(nxt)
    return None


def test_the_graph_reader_sees_what_python_runs(tmp_path):
    """imports_of on a module written for the purpose: module-level, class-body and try imports count,
    a function's import is deferred, TYPE_CHECKING imports are left out, relative imports are resolved."""
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import newscrawl.parsing.text as text\n"
        "from newscrawl.parsing import dates, DATE_RE\n"
        "from . import sibling\n"
        "from ..db import store\n"
        "try:\n    import newscrawl.items\nexcept ImportError:\n    pass\n"
        "if TYPE_CHECKING:\n    from newscrawl.settings import X\n"
        "class A:\n    import newscrawl.fleet\n"
        "def f():\n    from newscrawl.db.url import normalize\n", encoding="utf-8")
    modules = {"newscrawl.parsing.dates": Path("x"), "newscrawl.db.store": Path("x")}
    found = [(i.target, i.deferred) for i in imports_of("newscrawl.pipelines.mod", source, modules)]
    assert found == [
        ("typing", False), ("newscrawl.parsing.text", False), ("newscrawl.parsing.dates", False),
        ("newscrawl.parsing", False), ("newscrawl.pipelines", False), ("newscrawl.db.store", False),
        ("newscrawl.items", False), ("newscrawl.fleet", False), ("newscrawl.db.url", True)]


@pytest.mark.parametrize("package, some", [("newscrawl", ("newscrawl.settings", "newscrawl.spiders.sites")),
                                           ("testkit", ("testkit.testsite", "testkit.hostile"))])
def test_no_import_cycle_between_modules(package, some):
    graph = import_graph(package)
    assert set(some) <= set(graph)
    cycle = cycle_on_import(graph)
    assert not cycle, "import cycle:\n  " + "\n  ".join(cycle)


def test_a_cycle_closed_at_the_bottom_of_a_file_is_found(tmp_path):
    """testkit's old shape: the test site imported its hostile corner at the bottom of the file, and the
    corner imported the test site; a deferred import alone is no cycle on import."""
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "__init__.py").write_text("")
    (kit / "site.py").write_text("import re\nROUTES = {}\n\nimport kit.corner  # noqa: E402\n")
    (kit / "corner.py").write_text("import kit.site as site\n\nsite.ROUTES['/x'] = None\n")
    (kit / "lazy.py").write_text("def f():\n    from kit import site\n")
    assert sorted(cycle_on_import(import_graph("kit", tmp_path))) == ["kit.corner line 1 imports kit.site",
                                                                      "kit.site line 4 imports kit.corner"]
    (kit / "corner.py").write_text("def register():\n    import kit.site as site\n")
    assert cycle_on_import(import_graph("kit", tmp_path)) == []


def test_function_level_imports_hide_no_new_cycle():
    graph = {**import_graph("newscrawl"), **import_graph("testkit")}
    every = {name: {i.target for i in imports} for name, imports in graph.items()}
    hidden = {(name, i.target): (i.line, chain) for name, imports in graph.items() for i in imports
              if i.deferred and (chain := path(every, i.target, name))}
    new = sorted(f"{a} line {line} imports {b}, and {' -> '.join(chain)}"
                 for (a, b), (line, chain) in hidden.items() if (a, b) not in HIDDEN_CYCLES)
    assert not new, "a function-level import closes an import cycle:\n  " + "\n  ".join(new)
    stale = set(HIDDEN_CYCLES) - set(hidden)
    assert not stale, f"no longer a cycle, remove from HIDDEN_CYCLES: {sorted(stale)}"


#: run by a fresh interpreter: each module imported in a child forked before any newscrawl module was
#: loaded (the third-party libraries are loaded once, before forking, to keep this fast)
_IMPORT_EACH = """
import importlib, json, os, sys, traceback
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # an optional library; the child reports it if the package needs it
failed = {}
for name in json.loads(sys.argv[2]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            importlib.import_module(name)
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        error = pipe.read().decode()
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
        failed[name] = error[-2000:] or "died"
print(json.dumps(failed))
"""


def test_every_module_imports_first():
    """Each module imported first, into an interpreter holding no other newscrawl module: the order
    problems a cycle causes show only when the cycle is entered from one particular module."""
    modules = [name for name in package_modules() if not name.endswith("__main__")]
    libraries = sorted({i.target for name, path in package_modules().items() for i in imports_of(name, path)
                        if not i.deferred and not i.target.startswith("newscrawl")
                        and i.target.partition(".")[0] not in sys.stdlib_module_names})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSCRAWL_", "SCRAPY_"))}
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    result = subprocess.run([sys.executable, "-c", _IMPORT_EACH, json.dumps(libraries), json.dumps(modules)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    failed = json.loads(result.stdout.splitlines()[-1])
    assert not failed, "\n\n".join(f"{name}:\n{error}" for name, error in failed.items())


#: top-level folders of the working tree that a fresh checkout does not have
OUTSIDE_A_CHECKOUT = {".venv", ".git", "data", "build", "dist", ".scrapy", ".pytest_cache", ".ruff_cache",
                      ".hypothesis"}


# -- what ships ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the working tree as a checkout holds it (bytecode caches included, the virtual
    environment, data and earlier builds left out): builds write build/ and *.egg-info into the tree."""
    def left_out(folder: str, names: list[str]) -> set[str]:
        if Path(folder) != ROOT:
            return set()
        return {n for n in names if n in OUTSIDE_A_CHECKOUT or n.endswith(".egg-info")}

    copy = tmp_path_factory.mktemp("project") / "newscrawl"
    shutil.copytree(ROOT, copy, ignore=left_out)
    return copy


def package_files(root: Path) -> set[str]:
    """The package's files in the source tree, bytecode caches left out."""
    return {p.relative_to(root).as_posix() for p in (root / "newscrawl").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def assert_only_the_package(names: list[str], metadata: str) -> None:
    shipped = [n for n in names if not n.startswith(metadata) and not n.endswith("/")]
    assert not [n for n in shipped if n.split("/")[0] in ("testkit", "tests", "bench")]
    junk = [n for n in shipped if "/cassettes/" in n or "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not junk
    assert {n.split("/")[0] for n in shipped} == {"newscrawl"}


def test_scrapyd_egg_holds_the_package_and_nothing_else(project, tmp_path):
    """Built as `scrapyd-deploy` builds it (`python setup.py bdist_egg` in the folder of scrapy.cfg), offline:
    `--build-egg` writes the egg instead of uploading it."""
    egg = tmp_path / "newscrawl.egg"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSCRAWL_", "SCRAPY_"))}
    env.update(TMPDIR=str(tmp_path), PATH=f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    result = subprocess.run([str(BIN / "scrapyd-deploy"), "--build-egg", str(egg)], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(egg) as z:
        names = z.namelist()
        entry_points = z.read("EGG-INFO/entry_points.txt").decode()
        top_level = z.read("EGG-INFO/top_level.txt").decode().split()
    assert {"newscrawl/__init__.py", "newscrawl/settings.py", "newscrawl/spiders/sites.py",
            "newscrawl/schema/__init__.py", "newscrawl/items.py"} <= set(names)
    assert_only_the_package(names, "EGG-INFO/")
    assert package_files(project) <= set(names)  # the whole package, data files included
    assert top_level == ["newscrawl"]
    assert re.search(r"^\[scrapy\]\nsettings = newscrawl\.settings$", entry_points, re.M), entry_points


def test_wheel_holds_the_package_and_declares_its_dependencies(project, tmp_path):
    """What `pip install .` installs: the wheel pip builds from the project (no index needed)."""
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                             "--no-index", "-w", str(tmp_path), str(project)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = tmp_path.glob("newscrawl-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(f"{info}/METADATA").decode()
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    assert_only_the_package(names, info + "/")
    assert package_files(project) <= set(names)
    assert "Requires-Python: >=3.11" in metadata
    required = {canonicalize_name(Requirement(line.split(": ", 1)[1]).name)
                for line in metadata.splitlines() if line.startswith("Requires-Dist: ")}
    assert {"scrapy", "lxml", "jdatetime", "sqlalchemy", "psycopg"} <= required
    assert "pytest" not in required and "ruff" not in required
    assert "settings = newscrawl.settings" in entry_points


# -- dependencies --------------------------------------------------------------------------------------------
def declared() -> dict[str, Requirement]:
    """pyproject's runtime dependencies by canonical name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def pins(path: Path) -> dict[str, str]:
    """name → pinned version (or the specifier) of a requirements file, `-r` lines and comments left out."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            found[canonicalize_name(req.name)] = str(req.specifier).removeprefix("==")
    return found


def test_dependencies_cover_every_library_the_package_imports():
    """Every third-party module the package imports (anywhere: a function's import runs too) comes from
    a distribution pyproject.toml declares, so `pip install .` alone gives a working library."""
    providers = importlib.metadata.packages_distributions()
    deps = declared()
    imported = {i.target.partition(".")[0]: f"{name} line {i.line}"
                for name, path in package_modules().items() for i in imports_of(name, path)}
    third_party = {top: where for top, where in imported.items()
                   if top != "newscrawl" and top not in sys.stdlib_module_names}
    assert {"scrapy", "lxml", "jdatetime", "sqlalchemy"} <= set(third_party)
    missing = {top: where for top, where in third_party.items()
               if not {canonicalize_name(d) for d in providers.get(top, [])} & set(deps)}
    assert not missing, f"imported but not in pyproject's dependencies: {missing}"


def runtime_closure() -> set[str]:
    """The declared dependencies and everything they require (extras and markers honoured), from the
    installed distributions' metadata."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, frozenset(req.extras)) for name, req in declared().items()]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for line in importlib.metadata.distribution(name).requires or []:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({**default_environment(), "extra": extra})
                                         for extra in (*extras, "")):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return {name for name, _ in seen}


def test_runtime_pins_are_exactly_what_the_package_needs():
    """requirements.txt pins the declared dependencies and what they need, each within pyproject's bounds,
    and nothing else; the development tools are in requirements-dev.txt, on top of the runtime pins."""
    runtime = pins(ROOT / "requirements.txt")
    for name, req in declared().items():
        assert name in runtime and req.specifier.contains(runtime[name]), (name, str(req), runtime.get(name))
    closure = runtime_closure()
    assert sorted(closure - set(runtime)) == [], "needed at run time but not pinned"
    assert sorted(set(runtime) - closure) == [], "pinned but not needed at run time"
    assert not DEV_TOOLS & set(runtime)
    dev = ROOT / "requirements-dev.txt"
    assert dev.read_text(encoding="utf-8").splitlines()[1] == "-r requirements.txt"
    assert DEV_TOOLS <= set(pins(dev))


def test_the_package_is_installed_in_editable_mode(tmp_path):
    """`make install` installs newscrawl into the virtual environment (editable, so the working tree is what
    runs): importable from any folder without PYTHONPATH; the test scaffolding is not installed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import importlib.util, newscrawl; print(newscrawl.__file__); "
            "print(importlib.util.find_spec('testkit'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [str(PACKAGE / "__init__.py"), "None"]
