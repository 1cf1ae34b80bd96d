"""The headless core never imports Textual (nor torch at import time): every module, found
rather than listed, and every function-level import its entry points reach."""

import ast
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import lorasent_tui.core

ROOT = Path(__file__).resolve().parents[1]
HEADLESS = ["lorasent_tui.commands", "lorasent_tui.console", "lorasent_tui.cli"]


def core_modules() -> list[str]:
    found = pkgutil.walk_packages(lorasent_tui.core.__path__, "lorasent_tui.core.")
    return sorted(module.name for module in found)


def _python(code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _loaded_after(statement: str) -> set[str]:
    return set(_python(f"import sys; {statement}; print(' '.join(sorted(sys.modules)))").split())


def _textual(modules) -> list[str]:
    return sorted(m for m in modules if m == "textual" or m.startswith("textual."))


def test_every_core_module_is_found():
    names = core_modules()
    on_disk = {p.stem for p in Path(lorasent_tui.core.__file__).parent.glob("*.py")} - {"__init__"}
    assert {f"lorasent_tui.core.{stem}" for stem in on_disk} <= set(names)


@pytest.mark.parametrize("module", core_modules() + HEADLESS)
def test_core_module_never_imports_textual(module):
    assert _textual(_loaded_after(f"import {module}")) == []


def test_core_import_is_cheap():
    loaded = _loaded_after("import lorasent_tui.core.trainer, lorasent_tui.core.store, lorasent_tui.cli")
    assert "torch" not in loaded and "transformers" not in loaded


# ---------------------------------------------------------------------------------------------
# Module structure: no import cycles, no private names used across modules (read from the source,
# so imports inside functions count too: they are how a cycle hides).

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "lorasent_tui"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _imports(tree: ast.Module, known: set[str]) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every lorasent_tui import anywhere in ``tree``."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lorasent_tui"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((submodule, None) if submodule in known else (node.module, alias.name))
        elif isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.startswith("lorasent_tui")]
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle's modules (strongly connected components with more than one module)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            component = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in order:
            visit(node)
    return found


def test_headless_modules_have_no_import_cycle():
    modules = _modules()
    headless = {name for name in modules if not name.startswith("lorasent_tui.tui")}
    graph = {name: {module for module, _ in _imports(modules[name], set(modules))
                    if module in headless and module != name} for name in headless}
    assert _cycles(graph) == []


def _module_aliases(tree: ast.Module, known: set[str]) -> dict[str, str]:
    """Local names bound to lorasent_tui modules (``from lorasent_tui.core import data``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            aliases.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names
                            if f"{node.module}.{a.name}" in known})
        elif isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name in known})
    return aliases


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_is_imported_across_modules():
    modules = _modules()
    private = []
    for name, tree in modules.items():
        private += [f"{name}: from {module} import {imported}"
                    for module, imported in _imports(tree, set(modules))
                    if imported and _is_private(imported)]
        aliases = _module_aliases(tree, set(modules))
        private += [f"{name}: {aliases[node.value.id]}.{node.attr}" for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and _is_private(node.attr)]
    assert private == []


def test_each_data_module_imports_first_in_a_fresh_interpreter():
    names = sorted(p.stem for p in (PACKAGE_ROOT / "core" / "data").glob("*.py"))
    assert "sampling" in names and "__init__" in names
    for stem in names:
        module = "lorasent_tui.core.data" + ("" if stem == "__init__" else f".{stem}")
        proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                              text=True)
        assert proc.returncode == 0, f"{module}: {proc.stderr.strip().splitlines()[-1:]}"


# Every headless command on a tiny model, in one fresh process: train (with a tracker), predict
# (trained and base), runs, export and report; then which Textual modules got imported.
ENTRY_POINTS = """
import sys
from pathlib import Path

from lorasent_tui.cli import main
from tests.tiny_models import make_tiny_model

tmp, trackers = Path(sys.argv[1]), sys.argv[2:]
model = make_tiny_model("bert", tmp / "model")
runs = ["--runs-dir", str(tmp / "runs")]
report_to = ["--report-to", ",".join(trackers)] if trackers else []
steps = [
    ["train", "--model", str(model), "--train-size", "16", "--eval-size", "8", "--epochs", "1",
     "--max-length", "32", "--device", "cpu", "--quiet", *report_to, *runs],
    ["predict", "a fine film", *runs],
    ["predict", "--base", "a fine film", *runs],
    ["runs", *runs],
    ["export", "latest", "--merged", str(tmp / "merged"), *runs],
    ["report", "latest", *runs],
]
for argv in steps:
    code = main(argv)
    assert code == 0, (argv, code)
print("TEXTUAL:" + " ".join(m for m in sys.modules if m == "textual" or m.startswith("textual.")))
"""


@pytest.mark.slow
def test_core_entry_points_never_import_textual(tmp_path):
    trackers = [name for name in ("tensorboard",) if importlib.util.find_spec(name)]
    out = _python(ENTRY_POINTS, str(tmp_path), *trackers)
    (line,) = [l for l in out.splitlines() if l.startswith("TEXTUAL:")]
    assert line == "TEXTUAL:"
    assert (tmp_path / "merged" / "config.json").is_file()
    assert list((tmp_path / "runs").glob("*/report.png"))
