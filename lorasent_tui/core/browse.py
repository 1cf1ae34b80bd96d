"""The error browser's data, headless: a run's kept prediction sets, read as the run predicts
(its calibration and decision threshold applied), filtered and ordered by loss in numpy.

Validation and test predictions keep the model's own probabilities (core/decision.py applies
the run's temperature to them); an evaluation was scored with the run's Predictor, so its
probabilities already have it. Either way the browser shows what ``predict`` would say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lorasent_tui.core.calibration import saved_temperature, scaled_probabilities
from lorasent_tui.core.predictions import PREDICTIONS_FILE, PredictionSet, read_predictions
from lorasent_tui.core.results import evaluations, held_out_result
from lorasent_tui.core.metrics import decided_classes
from lorasent_tui.core.threshold import saved_threshold

CORRECTNESS = ("all", "wrong", "right")


@dataclass(frozen=True)
class PredictionSource:
    """One kept prediction set of a run."""

    key: str  # "validation", "test" or "evaluation:<name>"
    title: str
    path: Path
    calibrated: bool  # its probabilities were saved with the run's temperature applied


def prediction_sources(run_path: Path) -> list[PredictionSource]:
    """The run's prediction sets that have a predictions file (old runs have none)."""
    run_path = Path(run_path)
    sources = [PredictionSource("validation", "Validation (best)", run_path / PREDICTIONS_FILE, False)]
    test = held_out_result(run_path)
    if test is not None:
        sources.append(PredictionSource("test", "Test", test.predictions_path, False))
    sources += [PredictionSource(f"evaluation:{result.name}", f"Eval {result.name}",
                                 result.predictions_path, True) for result in evaluations(run_path)]
    return [source for source in sources if source.path.is_file()]


@dataclass
class BrowsedSet:
    """A prediction set as the run predicts it: probabilities, verdicts and per-example loss."""

    predictions: PredictionSet
    probs: np.ndarray  # n × classes, with the run's calibration
    predicted: np.ndarray  # class ids, with the run's decision threshold
    loss: np.ndarray  # negative log-likelihood of the true class under ``probs``
    folded: list[str]  # the texts casefolded, for search ("" where texts were not kept)

    @property
    def names(self) -> list[str]:
        return self.predictions.label_names

    @property
    def wrong(self) -> np.ndarray:
        return self.predicted != self.predictions.y_true

    def text(self, index: int) -> str:
        texts = self.predictions.texts
        return texts[index] if texts is not None else ""

    def confidence(self, index: int) -> float:
        """The probability of the predicted class."""
        return float(self.probs[index, self.predicted[index]])


def load_browsed(run_path: Path, source: PredictionSource) -> BrowsedSet:
    """Read ``source`` (RunError for a damaged file or threshold) with the run's decision rules."""
    predictions = read_predictions(source.path)
    probs = np.asarray(predictions.probs, dtype=float)
    if not source.calibrated and len(predictions):
        probs = scaled_probabilities(probs, saved_temperature(Path(run_path)))
    binary = len(predictions.label_names) == 2
    predicted = decided_classes(probs, saved_threshold(Path(run_path)) if binary else None)
    n = len(predictions)
    chosen = probs[np.arange(n), predictions.y_true] if n else np.zeros(0)
    loss = -np.log(np.clip(chosen, np.finfo(float).tiny, None))
    folded = [t.casefold() for t in predictions.texts] if predictions.texts is not None else [""] * n
    return BrowsedSet(predictions, probs, predicted, loss, folded)


@dataclass(frozen=True)
class ExampleFilter:
    true_class: int | None = None
    predicted_class: int | None = None
    correctness: str = "all"  # one of CORRECTNESS
    search: str = ""


def browse_order(browsed: BrowsedSet, chosen: ExampleFilter) -> np.ndarray:
    """The indices of the examples ``chosen`` keeps, highest loss (confidently wrong) first;
    equal losses keep the set's order."""
    keep = np.ones(len(browsed.predictions), dtype=bool)
    if chosen.true_class is not None:
        keep &= browsed.predictions.y_true == chosen.true_class
    if chosen.predicted_class is not None:
        keep &= browsed.predicted == chosen.predicted_class
    if chosen.correctness == "wrong":
        keep &= browsed.wrong
    elif chosen.correctness == "right":
        keep &= ~browsed.wrong
    indices = np.flatnonzero(keep)
    needle = chosen.search.strip().casefold()
    if needle:
        indices = np.asarray([i for i in indices if needle in browsed.folded[i]], dtype=int)
    order = np.argsort(-browsed.loss[indices], kind="stable")
    return indices[order]
