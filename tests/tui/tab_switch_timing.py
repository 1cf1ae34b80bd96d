"""In-process timing of a tab switch (not a test): ``python -m tests.tui.tab_switch_timing [N]``.

Drives the app headless at 120x40 with the test fakes and, per switch, reports
- first frame: key press -> the first compositor refresh that shows the new tab
  (what a terminal would draw first; writing to the terminal is not included);
- CPU: process CPU time over the 0.6 s after the key (any extra layouts, footer rebuilds
  and animations included). Tabs are cycled Predict -> Runs -> Train.
Both are in-process numbers; bench/ui_latency.py measures key-to-screen in a real terminal.
``python -m tests.tui.tab_switch_timing N training`` lays the Train tab out as during a run
(settings summary instead of the form) without running a trainer.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from textual import events
from textual.screen import Screen

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.launch import make_app
from tests.tui.fakes import FakeDataLoader, FakePredictorFactory, FakeTrainer

KEYS = (("f2", "predict"), ("f3", "runs"), ("f1", "train"))


async def measure(samples: int, training: bool = False) -> dict[str, dict[str, list[float]]]:
    app = make_app(build_config({"epochs": 3}), runs_dir=Path(tempfile.mkdtemp()) / "runs",
                   trainer=FakeTrainer(), predictor_factory=FakePredictorFactory(),
                   data_loader=FakeDataLoader())
    watch: dict[str, object] = {"pane": None, "t0": 0.0, "first": None}
    original = Screen._compositor_refresh

    def compositor_refresh(screen: Screen) -> None:
        original(screen)
        pane = watch["pane"]
        if pane is not None and watch["first"] is None and pane in screen._compositor.visible_widgets:
            watch["first"] = time.perf_counter() - watch["t0"]

    Screen._compositor_refresh = compositor_refresh
    results = {tab: {"first_ms": [], "cpu_ms": []} for _, tab in KEYS}
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            if training:
                app.train_panel.state = "running"
                await pilot.pause(0.2)
            for round_ in range(samples + 1):  # the first round warms caches; not counted
                for key, tab in KEYS:
                    watch.update(pane=app.query_one(f"#{tab}"), first=None, t0=time.perf_counter())
                    cpu = time.process_time()
                    # Straight to the app, as a terminal's key would arrive; pilot.press()
                    # would run its own idle-polling loop alongside.
                    app.post_message(events.Key(key, None))
                    await asyncio.sleep(0.6)
                    cpu = time.process_time() - cpu
                    if round_ and watch["first"] is not None:
                        results[tab]["first_ms"].append(watch["first"] * 1000)
                        results[tab]["cpu_ms"].append(cpu * 1000)
    finally:
        Screen._compositor_refresh = original
    return results


def p(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    results = asyncio.run(measure(samples, training="training" in sys.argv[2:]))
    for tab, values in results.items():
        first, cpu = values["first_ms"], values["cpu_ms"]
        print(f"to {tab:8s} first frame p50 {p(first, 50):6.1f} p95 {p(first, 95):6.1f} ms"
              f" | CPU per switch p50 {p(cpu, 50):6.1f} p95 {p(cpu, 95):6.1f} ms")


if __name__ == "__main__":
    main()
