"""The Sweeps tab's charts: the best value over trials, and the metric against a varied setting."""

from __future__ import annotations

from typing import Any, Iterable

from lorasent_tui.tui.widgets.charts import ChartSpec, LineChart, Series


def finished(rows: Iterable[Any]) -> list[Any]:
    """Complete trials with a value, by trial number (rows are core LeaderboardRows)."""
    return sorted((r for r in rows if r.state == "complete" and r.value is not None),
                  key=lambda r: r.number)


def best_so_far(rows: Iterable[Any], direction: str) -> Series:
    """After each complete trial, the best value reached so far."""
    pick = max if direction == "maximize" else min
    xs, ys, best = [], [], None
    for row in finished(rows):
        best = row.value if best is None else pick(best, row.value)
        xs.append(row.number)
        ys.append(best)
    return Series("best so far", xs, ys, points=True)


class BestChart(LineChart):
    empty_text = "no complete trial yet"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ChartSpec("Best value by trial"), **kwargs)

    def show(self, rows: Iterable[Any], metric: str, direction: str) -> None:
        self.spec.title = f"Best {metric} by trial"
        self.set_series([best_so_far(rows, direction)])

    def draw(self, plt: Any) -> None:
        super().draw(plt)
        trials = [int(x) for s in self.series for x in s.xs]
        if trials:  # trial numbers, not 0.5 steps
            plt.xticks(list(range(min(trials), max(trials) + 1, max(1, len(trials) // 6))))


class ParamChart(LineChart):
    """Each complete trial as a point: the metric against one varied setting.

    A setting whose values are not numbers (a model name) gets one x position per value.
    """

    empty_text = "no complete trial yet"

    def __init__(self, param: str, **kwargs: Any) -> None:
        super().__init__(ChartSpec(param), **kwargs)
        self.param = param
        self.ticks: list[str] = []

    def show(self, rows: Iterable[Any], metric: str) -> None:
        self.spec.title = f"by {self.param}"
        points = [(r.params[self.param], r.value) for r in finished(rows) if self.param in r.params]
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x, _ in points)
        self.ticks = [] if numeric else list(dict.fromkeys(str(x) for x, _ in points))
        xs = [x if numeric else self.ticks.index(str(x)) for x, _ in points]
        self.set_series([Series("", xs, [y for _, y in points], points=True)])

    def draw(self, plt: Any) -> None:
        if self.ticks:
            plt.xticks(list(range(len(self.ticks))), self.ticks)
        for series, rgb in self.colored():
            plt.scatter(series.xs, series.ys, marker="dot", color=rgb)
