"""The house rules that code review alone would let slip: who imports what, and room sizes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FRONT_ENDS = ("indexer", "webui", "cli")
# What a front end must not import: it asks the engine instead.
LIBRARY_INSIDES = ("clipsearch.stores", "clipsearch.lock", "clipsearch.pipeline", "clipsearch.index_handle")
MAX_LINES = 400
# Nothing may join this list (the store split of issue 12 emptied it).
PENDING_SPLIT: set[str] = set()


def python_files(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (REPO / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        found |= _names_imported(node)
    return found


def _names_imported(node: ast.AST, package: str | None = None) -> set[str]:
    """The modules (and names in them) an import statement names; a relative one's resolved from
    ``package``, or left out without it."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if not isinstance(node, ast.ImportFrom) or (node.level and package is None) or not (node.module or node.level):
        return set()
    base = node.module or ""
    if node.level:
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(parts + ([node.module] if node.module else []))
    return {base} | {f"{base}.{alias.name}" for alias in node.names}


@pytest.mark.parametrize("path", python_files(*FRONT_ENDS), ids=lambda p: str(p.relative_to(REPO)))
def test_front_ends_ask_the_engine_not_its_insides(path):
    bad = sorted(m for m in imported_modules(path) if m.startswith(LIBRARY_INSIDES))
    assert bad == []
    assert "engine.store" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", python_files("clipsearch"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_library_has_no_command_line_or_web_parsing(path):
    edges = {"argparse", "gradio", "click", "cli", "indexer", "webui"}
    # A package's __main__ may stay a thin door into a front end.
    allowed = {"cli", "cli.search", "cli.search.main", "cli.demo", "cli.demo.main"} if path.name == "__main__.py" else set()
    bad = sorted(m for m in imported_modules(path) if m.split(".")[0] in edges and m not in allowed)
    assert bad == []


def test_no_room_is_too_big_to_read():
    too_big = {str(p.relative_to(REPO)): n for p in python_files("clipsearch", *FRONT_ENDS)
               if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert set(too_big) <= PENDING_SPLIT, too_big


def test_ruff_is_clean_complexity_included():
    """CI runs the tests, so the lint (with C901, max-complexity 12) runs with them."""
    import importlib.util
    import subprocess
    import sys

    # Through this python, as .ci/run does: a pyenv's shims may not list a newly installed ruff.
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


@pytest.mark.parametrize("path", python_files("clipsearch"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_library_speaks_in_its_own_terms(path):
    """No message of the library quotes a command-line flag: the front ends add those (cli.flags.explain)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    quoted = sorted(node.value for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and FLAG.search(node.value))
    assert quoted == []


@pytest.mark.parametrize("path", python_files("clipsearch", *FRONT_ENDS), ids=lambda p: str(p.relative_to(REPO)))
def test_only_config_reads_the_environment(path):
    """``clipsearch/config.py`` reads environment variables; the rest asks it (front ends may set them)."""
    if path == REPO / "clipsearch" / "config.py":
        return
    reads = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.getenv", "os.environ.get", "environ.get", "getenv"):
                reads.append(f"{target} line {node.lineno}")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and \
                ast.unparse(node.value) in ("os.environ", "environ"):
            reads.append(f"os.environ[...] line {node.lineno}")
    assert reads == []


def _named_in(doc: str, path: Path) -> bool:
    """Whether ``doc`` names the module at ``path``: as a file (``stem.py``, a ``__main__.py`` with
    its folder), or in code as the module itself or a name in it (`` `stem` ``, `` `package.stem.name` ``)."""
    if path.name == "__main__.py":
        return f"{path.parent.name}/__main__.py" in doc
    stem = re.escape(path.stem)
    return re.search(rf"(?<![\w.]){stem}\.py\b|`(?:[\w.]+\.)?{stem}[`.]", doc) is not None


@pytest.mark.parametrize("path", [p for p in python_files("clipsearch", *FRONT_ENDS) if p.name != "__init__.py"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_the_architecture_page_names_every_module(path):
    """docs/architecture.md is the map of the code: a module it does not name has no place in it (a
    package's ``__init__.py`` is its folder's, named with it)."""
    assert _named_in((REPO / "docs" / "architecture.md").read_text(encoding="utf-8"), path)


def _loaded_at_import(module: str) -> set[str]:
    """The modules importing ``module`` loads: its package's ``__init__`` and the imports at its
    top level (not those inside a function), resolved to this checkout's files where they are
    its own."""
    path = REPO / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = REPO / module.replace(".", "/") / "__init__.py"
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = {package} if package and package != module else set()
    body = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while body:
        node = body.pop(0)
        if isinstance(node, (ast.If, ast.Try)):  # still the module's top level
            body += node.body + node.orelse + getattr(node, "finalbody", []) + \
                [line for handler in getattr(node, "handlers", []) for line in handler.body]
        else:
            found |= _names_imported(node, package)
    own = {m for m in found if (REPO / (m.replace(".", "/") + ".py")).exists()
           or (REPO / m.replace(".", "/") / "__init__.py").exists()}
    return own | {m.split(".")[0] for m in found - own}


def test_only_reading_a_video_loads_pyav():
    """The web app, its REST routes, the indexer and its watch start without PyAV (15 MB of the
    server's memory, whether or not its index holds a video): ``video_frames``, its importer, is
    imported where a video is read."""
    seen, todo = set(), ["clipsearch", "clipsearch.__main__", "indexer.__main__", "indexer.watch", "webui.__main__",
                         "webui.app", "webui.rest", "webui.thumbnails"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            if (REPO / module.split(".")[0]).is_dir():
                todo += _loaded_at_import(module)
    assert "clipsearch.video_frames" not in seen and "av" not in seen
    assert {"webui.thumbnails", "clipsearch.engine", "gradio"} <= seen  # the walk reached the app's depths
