"""Prediction with a warm model: the LoRA weights merged for inference, batched, no re-loading.

The model runs in PyTorch, or in ONNX Runtime from the run's ONNX export (``core/onnx_backend``);
both read long texts through the same views (``core/views``).
"""

from __future__ import annotations

import threading
import unicodedata
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from lorasent_tui.core.allocator import reuse_freed_memory
from lorasent_tui.core.calibration import saved_temperature
from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.errors import RunError
from lorasent_tui.core.labels import run_label_names
from lorasent_tui.core.precision import autocast, resolve_precision
from lorasent_tui.core.store import Run, RunStore
from lorasent_tui.core.metrics import DEFAULT_THRESHOLD, decided_classes
from lorasent_tui.core.threshold import saved_threshold

MAX_TEXT_CHARS = 1_000_000


@dataclass(frozen=True)
class Prediction:
    text: str
    label: str  # the most probable class (binary: positive from P(positive) >= the run's threshold)
    score: float  # binary: P(positive); more classes: the probability of ``label``
    scores: dict[str, float] = field(default_factory=dict)  # every class's probability

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label, "score": round(self.score, 6),
                "scores": {name: round(p, 6) for name, p in self.scores.items()}}


def prediction(text: str, probs: Sequence[float], names: Sequence[str],
               threshold: float = DEFAULT_THRESHOLD) -> Prediction:
    """One text's verdict from its class probabilities; two classes: positive (the second)
    when P(positive) >= ``threshold`` (core/threshold.py)."""
    scores = dict(zip(names, probs))
    chosen = int(decided_classes([probs], threshold)[0])
    return Prediction(text, names[chosen], probs[1] if len(names) == 2 else probs[chosen], scores)


# What the cut view keeps of a long text, by TrainConfig.truncation.
KEPT_PART = {"left": "its end", "right": "its start", "head_tail": "its start and end"}


@dataclass(frozen=True)
class TextReading:
    """How a model reads one text: its length in tokens against what one view holds."""

    tokens: int  # without special tokens
    budget: int  # tokens one view holds
    truncation: str
    layout: str | None = None  # views.window_layout: None when long texts are only cut
    views: int = 1

    def describe(self) -> str:
        """One line for a long text ("" when the model reads all of it at once)."""
        if self.tokens <= self.budget:
            return ""
        kept = KEPT_PART.get(self.truncation, self.truncation)
        head = f"Long text ({self.tokens:,} tokens, the model reads {self.budget} at a time): read as "
        if self.layout == "cover":
            return head + f"{self.views} windows covering all of it, verdicts averaged."
        if self.layout is not None:
            return head + f"{self.views - 1} overlapping windows plus a cut keeping {kept}, verdicts averaged."
        return (f"Long text ({self.tokens:,} tokens): cut to {self.budget} tokens keeping {kept}; "
                "the rest is not read.")


def mostly_non_latin(text: str) -> bool:
    """True when most letters are not Latin script (the bundled model and data are English)."""
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(1 for ch in letters if ch.isascii() or unicodedata.name(ch, "").startswith("LATIN"))
    return bool(letters) and latin < len(letters) / 2


def clean_text(text: str) -> str:
    """Printable text for the tokenizer: control characters become spaces, size is capped."""
    text = text[:MAX_TEXT_CHARS]
    return "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in text)


def load_trained(run: Run, merge: bool = True) -> tuple[Any, Any]:
    """A run's base model with its best adapter (merged into the weights, or as PEFT layers)."""
    from peft import PeftModel

    from lorasent_tui.core import models

    config = run.config()
    adapter = run.complete_adapter_dir()
    if adapter is None or not (adapter / "adapter_model.safetensors").is_file():
        raise RunError(f"run {run.run_id} has no saved adapter yet (no finished epoch)")
    tokenizer = models.load_tokenizer(config.model)
    base, _ = models.load_classifier(config.model, config.seed, run_label_names(config.labels))
    # Only safetensors are read: PEFT prefers adapter_model.safetensors when it exists,
    # which was checked above, so a planted pickle beside it is never opened. The head
    # layers the base checkpoint lacks come from the adapter too (modules_to_save).
    try:
        model = PeftModel.from_pretrained(base, str(adapter), is_trainable=False)
    except Exception as exc:  # noqa: BLE001 - a damaged adapter file, in whatever way
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise RunError(f"run {run.run_id}: the saved adapter cannot be loaded "
                       f"({type(exc).__name__}: {first})") from None
    return (model.merge_and_unload() if merge else model), tokenizer


def run_decision(run: Run) -> dict[str, float | None]:
    """What a run's Predictor takes from the run besides its model: the temperature of its
    calibration and its decision threshold (binary runs), None where it has none."""
    binary = len(run_label_names(run.config().labels)) == 2
    return {"temperature": saved_temperature(run.path),
            "threshold": saved_threshold(run.path) if binary else None}


class TorchBackend:
    """The model in PyTorch, in the run's precision."""

    name = "torch"

    def __init__(self, model: Any, device: Any, precision: str):
        self.model = model
        self.device = device
        self.precision = precision

    def logits(self, batch: dict[str, Any]) -> Any:
        import torch

        with torch.inference_mode(), autocast(self.precision, self.device):
            batch = {k: v.to(self.device) for k, v in batch.items()}
            return self.model(**batch).logits.float().cpu()


class Predictor:
    """A loaded classifier; ``predict`` is thread-safe and needs no further loading.

    ``backend`` runs the model on a padded batch (``logits(batch)``); by default the torch
    ``model`` in the run's precision. ``model`` is None when another backend holds the model.
    ``temperature`` (core/calibration.py) scales every text's class log-probabilities;
    ``threshold`` is a binary run's decision threshold on P(positive) (core/threshold.py);
    ``run_decision(run)`` reads both from a run.
    """

    def __init__(self, model: Any, tokenizer: Any, config: TrainConfig, name: str, device: Any = None,
                 backend: Any = None, temperature: float | None = None, threshold: float | None = None):
        import torch

        self.model = model.eval() if model is not None else None
        self.tokenizer = tokenizer
        self.config = config
        self.name = name
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        # The run's own precision, so that a run predicts what its validation measured.
        self.precision = resolve_precision(config.precision, self.device)
        self.label_names = run_label_names(config.labels)
        self.backend = backend or TorchBackend(self.model, self.device, self.precision)
        self.temperature = temperature
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self._lock = threading.Lock()

    @classmethod
    def from_base(cls, config: TrainConfig, device: str = "cpu") -> "Predictor":
        """The untrained base model with the same freshly initialised head as training starts from."""
        from lorasent_tui.core import models

        tokenizer = models.load_tokenizer(config.model)
        model, _ = models.load_classifier(config.model, config.seed,
                                          run_label_names(config.labels))
        return cls(model.to(device), tokenizer, config, f"{config.model} (untrained)", device)

    @classmethod
    def from_run(cls, ref: str, runs_dir: Path | str = "runs", device: str = "cpu",
                 merge: bool = True) -> "Predictor":
        """A run's best adapter on its base model, merged into the weights for speed.

        ``core.onnx_backend.load_predictor`` also offers the run's ONNX export.
        """
        run = RunStore(runs_dir).get(ref)
        model, tokenizer = load_trained(run, merge)
        return cls(model.to(device), tokenizer, run.config(), run.run_id, device, **run_decision(run))

    def _probs(self, views: Any, batch_size: int,
               on_batch: Callable[[int, int], None] | None = None) -> list[list[float]]:
        import torch

        from lorasent_tui.core.batching import iter_batches, sorted_batches
        from lorasent_tui.core.views import combine_log_probs

        logits = torch.zeros((len(views.ids), len(self.label_names)))
        batches = sorted_batches([len(ids) for ids in views.ids], batch_size)
        done = 0
        # Bulk scoring reuses freed activations; one typed text does not pay for the trim after.
        with reuse_freed_memory() if len(batches) > 1 else nullcontext():
            for index, batch in iter_batches(views.ids, batches, self.tokenizer.pad_token_id):
                logits[index] = self.backend.logits(batch)
                done += len(index)
                if on_batch is not None:
                    on_batch(done, len(views.ids))
        log_probs = combine_log_probs(logits, views)
        if self.temperature is not None:
            log_probs = torch.log_softmax(log_probs / self.temperature, dim=-1)
        return log_probs.exp().tolist()

    def class_probs(self, texts: Sequence[str], batch_size: int = 32,
                    on_batch: Callable[[int, int], None] | None = None) -> list[list[float]]:
        """Every class's probability per text, read exactly as ``predict`` reads it;
        ``on_batch(views_done, views)`` after each batch (long texts are several views)."""
        from lorasent_tui.core.views import encode_views, window_layout

        cleaned = [clean_text(t) for t in texts]
        if not cleaned:
            return []
        cfg = self.config
        views = encode_views(self.tokenizer, cleaned, cfg.max_length, cfg.truncation, window_layout(cfg))
        with self._lock:
            return self._probs(views, batch_size, on_batch)

    def reading(self, text: str) -> TextReading:
        """How ``predict`` reads ``text``: cut to one view, or also as sliding windows."""
        from lorasent_tui.core.batching import special_token_template, tokenize_whole
        from lorasent_tui.core.views import views_of, window_layout

        cfg = self.config
        prefix, suffix = special_token_template(self.tokenizer)
        budget = cfg.max_length - len(prefix) - len(suffix)  # as views.encode_views
        (ids,) = tokenize_whole(self.tokenizer, [clean_text(text)])
        layout = window_layout(cfg)
        views = views_of(ids, budget, cfg.truncation, layout)
        return TextReading(len(ids), budget, cfg.truncation, layout, len(views))

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[Prediction]:
        probs = self.class_probs(texts, batch_size)
        return [prediction(t, p, self.label_names, self.threshold) for t, p in zip(texts, probs)]
