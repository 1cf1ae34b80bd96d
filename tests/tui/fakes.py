"""Millisecond fakes for the trainer, predictors and data loader the TUI drives."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from lorasent_tui.core.events import (
    EpochResult, RunFailed, RunFinished, StatusUpdate, StepProgress, TrainCallbacks,
)
from lorasent_tui.core.onnx_backend import onnx_model_dir
from lorasent_tui.core.explain import Explanation, WordScore
from lorasent_tui.core.export import EXPORT_MARKER
from lorasent_tui.core.labels import run_label_names
from lorasent_tui.core.onnx_export import MODEL_FILE, export_info, run_onnx_dir
from lorasent_tui.core.predict import TextReading
from lorasent_tui.core.store import RunStore
from lorasent_tui.core.sweep.events import SweepFinished, SweepStarted, TrialFinished, TrialStarted
from lorasent_tui.core.sweep.leaderboard import leaderboard, trial_row
from lorasent_tui.core.sweep.queue_files import leave_queue, queued
from lorasent_tui.tui.services import QueueRequest

EVAL_REVIEWS = 50  # reviews each fake evaluation scores
TRAIN_SHARE = 0.6  # of each fake epoch's work; evaluation is the rest
ROC = {"fpr": [0.0, 0.1, 0.3, 1.0], "tpr": [0.0, 0.6, 0.9, 1.0]}
THREE_CLASSES = ("negative", "neutral", "positive")
CLASS_SUPPORT = 20  # eval reviews of each class in a fake multi-class evaluation


def epoch_metrics(epoch: int, accuracy: float) -> dict[str, float]:
    return {"epoch": epoch, "train_loss": 0.7 / epoch, "eval_loss": 0.6 / epoch, "accuracy": accuracy,
            "precision": accuracy, "recall": accuracy, "f1": accuracy - 0.01, "tpr": accuracy,
            "fpr": 1 - accuracy, "roc_auc": accuracy + 0.02}


def class_epoch_metrics(epoch: int, accuracy: float, names=THREE_CLASSES) -> dict:
    """A multi-class epoch row as the core writes it: each class's wrong predictions all go to
    the next class, so every class has precision = recall = ``accuracy``."""
    right = round(accuracy * CLASS_SUPPORT)
    n = len(names)
    matrix = [[right if j == k else CLASS_SUPPORT - right if j == (k + 1) % n else 0 for j in range(n)]
              for k in range(n)]
    share = right / CLASS_SUPPORT
    return {"epoch": epoch, "train_loss": 0.7 / epoch, "eval_loss": 0.6 / epoch, "accuracy": share,
            "precision_macro": share, "recall_macro": share, "f1_macro": share - 0.01,
            "f1_weighted": share - 0.005, "roc_auc": accuracy + 0.02,
            "per_class": {name: {"precision": share, "recall": share, "f1": share, "support": CLASS_SUPPORT}
                          for name in names},
            "confusion_matrix": matrix}


def class_roc(accuracy: float, names=THREE_CLASSES) -> dict:
    """roc.json's entry of a multi-class epoch: one curve per class."""
    return {"classes": {name: {**ROC, "auc": round(accuracy + 0.02 - 0.01 * k, 4)}
                        for k, name in enumerate(names)}}


class FakeTrainer:
    """Writes a real run folder (so Runs and Predict can read it) and reports like the core.

    ``accuracies`` gives one accuracy per epoch; ``wait_after_epoch`` blocks on the stop
    event after that epoch (to test Stop); ``fail`` reports a failure instead. With
    ``resume`` it continues the run after the epochs in its metrics.jsonl, as the core does,
    and with ``epochs`` up to that many (a completed run too; added epochs repeat the last
    accuracy). ``hold``: every step waits for it, deaf to the stop event (a long step).
    ``classes``: the class names the data has (more than two: multi-class rows and curves),
    recorded in the run's config as the core does.
    """

    def __init__(self, accuracies=(0.70, 0.85, 0.80), steps_per_epoch=5, wait_after_epoch=None,
                 fail: str | None = None, run_id: str | None = None, classes=None):
        self.run_id = run_id  # fixed for snapshots; default: a fresh time-based id
        self.classes = tuple(classes) if classes else None
        self.accuracies = list(accuracies)
        self.steps_per_epoch = steps_per_epoch
        self.wait_after_epoch = wait_after_epoch
        self.fail = fail
        self.calls: list = []
        self.resumes: list = []  # the ``resume`` argument of every call
        self.progress_events = 0
        self.epoch_started = threading.Event()
        self.epoch_targets: list = []  # the ``epochs`` argument of every call
        self.hold: threading.Event | None = None

    def __call__(self, config, *, runs_dir: Path, callbacks: TrainCallbacks,
                 stop_event: threading.Event, resume=None, epochs=None):
        self.calls.append(config)
        self.resumes.append(resume)
        self.epoch_targets.append(epochs)
        accuracies = (self.accuracies + self.accuracies[-1:] * (epochs or 0))[:epochs or len(self.accuracies)]
        rows, roc = [], {}
        if resume is None:
            if self.classes and config.labels is None:
                config = replace(config, labels=list(self.classes))
            run = RunStore(runs_dir).create(config, run_id=self.run_id)
        else:  # like the core: continue after the epochs already in metrics.jsonl
            run = RunStore(runs_dir).get(resume)
            extends = epochs is not None and epochs > run.config().epochs
            if run.effective_state() == "running" or run.effective_state() == "completed" and not extends:
                failure = RunFailed(f"run {run.run_id} cannot be resumed")
                callbacks.on_failed(failure)
                return failure
            rows, roc = run.metrics(), run.roc()
            run.update_status(state="running")
            if extends:  # as the core records an extended run
                run.write_config(replace(run.config(), epochs=epochs))
        callbacks.on_status(StatusUpdate("Loading model", run.run_id, "cpu"))
        if self.fail:
            failure = RunFailed(self.fail, run.run_id, str(run.path))
            run.update_status(state="failed", error=self.fail)
            callbacks.on_failed(failure)
            return failure
        names = run_label_names(run.config().labels)
        callbacks.on_status(StatusUpdate("training", run.run_id, "cpu", labels=names))
        epochs = len(accuracies)
        total = epochs * self.steps_per_epoch
        best = max(rows, key=lambda r: r["accuracy"])["epoch"] if rows else None
        stopped = False
        for epoch, accuracy in enumerate(accuracies, 1):
            if epoch <= len(rows):
                continue  # finished before the resume
            self.epoch_started.set()
            for s in range(self.steps_per_epoch):
                if self.hold is not None:
                    self.hold.wait()
                if stop_event.is_set():
                    stopped = True
                    break
                step = (epoch - 1) * self.steps_per_epoch + s + 1
                self.progress_events += 1
                callbacks.on_progress(self._progress(step, total, epoch, epochs, (s + 1) / self.steps_per_epoch))
            if stopped:
                break
            # Then the epoch's evaluation, reported in two halves as the core does per batch.
            for done in (EVAL_REVIEWS // 2, EVAL_REVIEWS):
                if stop_event.is_set():  # as the core: between evaluation batches, epoch unrecorded
                    stopped = True
                    break
                callbacks.on_progress(self._progress(step, total, epoch, epochs, 1.0, eval_done=done))
            if stopped:
                break
            multi = len(names) > 2
            rows.append(class_epoch_metrics(epoch, accuracy, names) if multi else epoch_metrics(epoch, accuracy))
            if run.config().unlabeled:  # as the core records self-training: none in epoch 1
                half = 0 if epoch == 1 else 10 * epoch
                rows[-1].update(pseudo_labels=2 * half, pseudo_counts={"negative": half, "positive": half})
            epoch_roc = class_roc(accuracy, names) if multi else ROC
            roc[str(epoch)] = {**epoch_roc, "auc": accuracy + 0.02}
            best = max(rows, key=lambda r: r["accuracy"])["epoch"]
            run.write_metrics(rows)
            run.write_roc(roc)
            run.update_status(best_epoch=best, epochs_done=epoch)
            callbacks.on_epoch(EpochResult(rows[-1], epoch_roc, best == epoch, best))
            if self.wait_after_epoch == epoch:
                stop_event.wait(10)
        state = "stopped" if stopped or stop_event.is_set() and len(rows) < epochs else "completed"
        run.update_status(state=state)
        best_row = next((r for r in rows if r["epoch"] == best), None)
        result = RunFinished(run.run_id, str(run.path), state, best, best_row)
        callbacks.on_finished(result)
        return result

    @staticmethod
    def _progress(step: int, total: int, epoch: int, epochs: int, trained: float,
                  eval_done: int | None = None) -> StepProgress:
        """A training step, or with ``eval_done`` the epoch's evaluation so far.

        Each epoch is TRAIN_SHARE training and the rest evaluation, as the core's fraction counts it.
        """
        evaluated = (eval_done or 0) / EVAL_REVIEWS
        fraction = (epoch - 1 + TRAIN_SHARE * trained + (1 - TRAIN_SHARE) * evaluated) / epochs
        elapsed = 10.0 * epochs * fraction
        return StepProgress(step, total, epoch, epochs, elapsed=elapsed, eta=10.0 * epochs - elapsed,
                            loss=1.0 / step, device="cpu", phase="train" if eval_done is None else "eval",
                            fraction=fraction, eval_done=eval_done,
                            eval_total=None if eval_done is None else EVAL_REVIEWS)


@dataclass
class Prediction:
    text: str
    label: str
    score: float
    scores: dict = field(default_factory=dict)


class KeywordPredictor:
    """Scores by keyword: the "trained" one knows negations, the base one is unsure.

    With three ``classes`` (negative, neutral, positive) it gives every class a probability.
    """

    NEGATIVE = ("not", "don't", "pass", "bad", "boring")
    POSITIVE = ("good", "better", "great", "love")

    def __init__(self, trained: bool, classes=None, hold: threading.Event | None = None):
        self.trained = trained
        self.classes = tuple(classes) if classes else None
        self.backend = SimpleNamespace(name="torch")  # as core.predict.Predictor's
        self.precision = "fp32"
        self.name = "keywords"
        self.config = SimpleNamespace(text_column="text")  # as core.predict.Predictor's
        self.label_names = self.classes or ("negative", "positive")
        self.threshold = 0.5
        self.hold = hold  # class_probs waits for it before each text, when set

    def class_probs(self, texts, batch_size=32, on_batch=None):
        """As core.predict.Predictor's, one text a batch: every class's probability per text."""
        probs = []
        for done, prediction in enumerate(self.predict(texts), 1):
            if self.hold is not None:
                self.hold.wait(1)  # bounded: a test that never sets it still ends
            probs.append([prediction.scores[n] for n in self.label_names] if prediction.scores
                         else [1 - prediction.score, prediction.score])
            if on_batch is not None:
                on_batch(done, len(texts))
        return probs

    def predict(self, texts):
        out = []
        for text in texts:
            words = text.lower()
            if not self.trained:
                score = 0.55
            elif any(w in words for w in self.NEGATIVE):
                score = 0.08
            elif any(w in words for w in self.POSITIVE):
                score = 0.93
            else:
                score = 0.5
            out.append(self._classes(text, score) if self.classes else
                       Prediction(text, "positive" if score >= 0.5 else "negative", score))
        return out

    def _classes(self, text: str, positive: float) -> Prediction:
        """Three classes: P(neutral) is high where the binary score is near 0.5."""
        neutral = 0.6 - abs(positive - 0.5)
        probs = [(1 - neutral) * (1 - positive), neutral, (1 - neutral) * positive]
        scores = dict(zip(self.classes, probs))
        label = max(scores, key=scores.get)
        return Prediction(text, label, scores[label], scores)

    def reading(self, text):
        """Words as tokens, a 20-token view and no windows: long texts are cut."""
        return TextReading(len(text.split()), 20, "head_tail")


class FakePredictorFactory:
    """``from_run`` picks the backend by the real rule: the run's ONNX export when it is current."""

    def __init__(self, classes=None):
        self.classes = classes  # the predictors' class names (None: binary)
        self.loaded_runs: list[str] = []
        self.backends: list[str] = []  # the ``backend`` argument of every from_run
        self.base_loads = 0
        self.explainers: list = []  # (predictor, run_id) of every explainer made
        self.explained: list[str] = []  # every text explained
        self.explain_hold: threading.Event | None = None
        self.score_hold: threading.Event | None = None  # the predictors' class_probs wait for it

    def from_run(self, ref, runs_dir, backend="auto"):
        self.loaded_runs.append(ref)
        self.backends.append(backend)
        predictor = KeywordPredictor(trained=True, classes=self.classes, hold=self.score_hold)
        if backend != "torch":
            folder = onnx_model_dir(RunStore(runs_dir).get(ref), required=backend == "onnx")
            if folder is not None:
                predictor.backend = SimpleNamespace(name="onnx", quantization=export_info(folder).get("quantization"))
        return predictor

    def export_onnx(self, ref, runs_dir):
        run = RunStore(runs_dir).get(ref)
        return write_fake_onnx_export(run, run.status().get("best_epoch"))

    def from_base(self, config):
        self.base_loads += 1
        return KeywordPredictor(trained=False, classes=self.classes)

    def explainer(self, predictor, runs_dir, run_id=None):
        self.explainers.append((predictor, run_id))
        return KeywordExplainer(predictor, self)


class KeywordExplainer:
    """Scores the KeywordPredictor's own keywords: +1 towards its verdict, -1 away, the rest 0.

    Each text explained is added to ``factory.explained``, after waiting for ``factory.explain_hold``
    when it is set (an explanation in flight).
    """

    def __init__(self, predictor, factory):
        self.predictor = predictor
        self.factory = factory

    def explain(self, text, target=None):
        if self.factory.explain_hold is not None:
            self.factory.explain_hold.wait(10)
        self.factory.explained.append(text)
        (verdict,) = self.predictor.predict([text])
        target = target or verdict.label
        sign = 1.0 if target == "positive" else -1.0
        words = []
        for match in re.finditer(r"[\w']+", text):
            word = match.group().lower()
            score = sign if word in KeywordPredictor.POSITIVE else -sign if word in KeywordPredictor.NEGATIVE else 0.0
            words.append(WordScore(match.group(), match.start(), match.end(), score))
        return Explanation(text, target, verdict.score if target == "positive" else 1 - verdict.score,
                           tuple(words))


def write_fake_onnx_export(run, best_epoch, quantization="int8"):
    """What export_onnx leaves in RUN/onnx, as far as choosing the backend reads it."""
    folder = run_onnx_dir(run)
    folder.mkdir(exist_ok=True)
    (folder / MODEL_FILE).write_bytes(b"not read by the fake predictors")
    (folder / EXPORT_MARKER).write_text(json.dumps({"run_id": run.run_id, "format": "onnx",
                                                    "quantization": quantization, "best_epoch": best_epoch}))
    return folder


class FakeDataLoader:
    def load_splits(self, config):
        texts = ["A great film, loved it.", "Terrible and boring.", "Good fun.", "Not worth it at all."]
        labels = [1, 0, 1, 0]
        return SimpleNamespace(train_texts=texts * 3, train_labels=labels * 3, eval_texts=texts,
                               eval_labels=labels, source="fake reviews", warnings=[])

    def unlabeled_pool(self, config, splits):
        return ["An unlabeled review of five words.", "Short one."] * 3


def fake_value(dimension, index: int):
    """The ``index``-th trial's value of a varied setting: the choices in turn, or low/mid/high."""
    if dimension.choices is not None:
        return dimension.choices[index % len(dimension.choices)]
    value = dimension.low + (dimension.high - dimension.low) * (index % 3) / 2
    return int(value) if isinstance(dimension.low, int) else value


class FakeSweeper:
    """Runs ``request.trials`` one-epoch FakeTrainer runs in turn, trial i reaching
    ``accuracies[i]``, and ranks them with the core's leaderboard rule (Optuna's trials faked).

    ``wait_after_trial``: after that trial, block on the stop event (to test Stop);
    ``waiting`` is set then. A QueueRequest runs the queued settings (``<runs>/queue``) in
    order instead, each leaving the queue when its run completes, as core run_queue does;
    ``configs`` lists every trial's config.
    """

    def __init__(self, accuracies=(0.70, 0.90, 0.80), wait_after_trial=None):
        self.accuracies = list(accuracies)
        self.wait_after_trial = wait_after_trial
        self.requests: list = []
        self.configs: list = []
        self.waiting = threading.Event()

    def __call__(self, request, *, runs_dir: Path, stop: threading.Event, callbacks, on_leaderboard):
        self.requests.append(request)
        direction = "minimize" if request.metric.endswith("loss") else "maximize"
        callbacks.on_sweep_started(SweepStarted(request.study, "fake storage", request.metric, direction, 0))
        trials: list = []
        for number, (params, config) in enumerate(self._trials(request, runs_dir)):
            if stop.is_set():
                break
            self.configs.append(config)
            run_id = f"{request.study}-trial{number:03d}"
            if "config" in params:  # a queue runs again on the next start: its entry's number too
                run_id += f"-q{params['config'][:3]}"
            trial = SimpleNamespace(number=number, state=SimpleNamespace(name="RUNNING"), value=None,
                                    params=params, user_attrs={"run_id": run_id}, duration=None)
            trials.append(trial)
            callbacks.on_trial_started(TrialStarted(request.study, number, params, run_id))
            on_leaderboard(leaderboard(trials, direction))
            accuracy = self.accuracies[number % len(self.accuracies)]
            FakeTrainer(accuracies=(accuracy,), run_id=run_id)(
                config, runs_dir=runs_dir, callbacks=callbacks.train, stop_event=threading.Event())
            trial.state, trial.value = SimpleNamespace(name="COMPLETE"), accuracy
            leave_queue(runs_dir, params.get("config"))
            trial.duration = timedelta(seconds=61 + number)
            callbacks.on_trial_finished(TrialFinished(request.study, trial_row(trial)))
            on_leaderboard(leaderboard(trials, direction))
            if self.wait_after_trial == number:
                self.waiting.set()
                stop.wait(10)
        result = SweepFinished(request.study, request.metric, direction, leaderboard(trials, direction),
                               stop.is_set())
        callbacks.on_sweep_finished(result)
        return result

    @staticmethod
    def _trials(request, runs_dir: Path):
        """(params, config) of each trial, read as it starts (the queue's next entry then)."""
        if isinstance(request, QueueRequest):
            while entries := queued(runs_dir):
                yield {"config": entries[0].label}, entries[0].config()
            return
        for number in range(request.trials):
            params = {d.name: fake_value(d, number) for d in request.space.dimensions}
            yield params, request.space.config_for(params)
