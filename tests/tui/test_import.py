import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "datasets", "sklearn", "pandas")


def test_importing_the_tui_loads_no_heavy_library():
    # The first frame must not wait for torch: heavy imports belong inside workers.
    code = ("import sys; import lorasent_tui.tui.app; "
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in %r))" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
