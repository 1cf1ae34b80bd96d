import subprocess
import sys

CORE_MODULES = ["config", "errors", "events", "fsutil", "store", "metrics", "batching", "models",
                "data.files", "data.hub", "labels", "precision", "distributed", "eventlog", "launcher", "session",
                "frozen_prefix", "export", "report", "trackers",
                "data", "trainer", "predict", "checkpoint", "configfile"]


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_never_imports_textual():
    imports = "; ".join(f"import lorasent_tui.core.{m}" for m in CORE_MODULES)
    loaded = _loaded_after(imports + "; import lorasent_tui.commands; import lorasent_tui.cli")
    assert not any(name == "textual" or name.startswith("textual.") for name in loaded)


def test_core_import_is_cheap():
    loaded = _loaded_after("import lorasent_tui.core.trainer, lorasent_tui.core.store, lorasent_tui.cli")
    assert "torch" not in loaded and "transformers" not in loaded
