"""The headless core never imports Textual (nor torch at import time): every module, found
rather than listed, and every function-level import its entry points reach."""

import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import lorasent_tui.core

ROOT = Path(__file__).resolve().parents[1]
HEADLESS = ["lorasent_tui.commands", "lorasent_tui.cli"]


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
