"""Reusable widgets; each carries its own DEFAULT_CSS so it looks right anywhere."""

from lorasent_tui.tui.widgets.charts import LineChart, LossChart, RocChart, ScoreChart, Series
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from lorasent_tui.tui.widgets.prob_bar import ProbBar

__all__ = ["LineChart", "LossChart", "MetricsTable", "ProbBar", "RocChart", "ScoreChart", "Series"]
