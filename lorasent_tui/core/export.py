"""Use a run elsewhere: a merged ``transformers`` model folder, and a model card for the run.

``export_merged`` folds the best LoRA adapter into its base model and writes a plain
``AutoModelForSequenceClassification`` folder (safetensors, tokenizer, the run's class names)
that ``transformers.pipeline("text-classification", model=DIR)`` loads without PEFT.
``write_model_card`` writes the run folder's ``README.md`` (a Hugging Face model card).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lorasent_tui.core.display import MISSING, format_metric
from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.fsutil import atomic_write_text, staged_dir
from lorasent_tui.core.labels import LABEL_NAMES, run_label_names
from lorasent_tui.core.pseudo_labels import card_paragraph as pseudo_card_paragraph
from lorasent_tui.core.records import metric_columns
from lorasent_tui.core.results import evaluations, held_out_result, summary_line
from lorasent_tui.core.store import Run, RunStore, now_iso

# Written into every export; its presence is what lets a later export replace the folder.
EXPORT_MARKER = "lorasent_export.json"
MODEL_CARD = "README.md"

# Names that are not hub ids: the bundled model, and what its card should point to instead.
_BUNDLED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
_DATASET_HUB_IDS = {"imdb": "stanfordnlp/imdb",
                    "rotten_tomatoes": "cornell-movie-review-data/rotten_tomatoes"}


# -- model card ------------------------------------------------------------------------------


def _hub_base_model(model: str) -> str | None:
    """The hub id of the base model, or None for a local folder (not valid card metadata)."""
    from lorasent_tui.core.models import BUNDLED_ALIASES

    if model.strip().lower() in BUNDLED_ALIASES:
        return _BUNDLED_HUB_ID
    if Path(model).expanduser().exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        return None
    return model


def _loadable_base(model: str) -> str:
    """What to pass to ``from_pretrained`` in the card's snippets."""
    return _hub_base_model(model) or str(Path(model).expanduser().resolve())


def _cell(value: Any, digits: bool = True) -> str:
    if isinstance(value, float) and digits:
        text = format_metric(value)
    elif isinstance(value, (list, tuple)):
        text = ", ".join(map(str, value))
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def metrics_table(rows: list[dict], best_epoch: int | None, n_classes: int = 2) -> str:
    """The per-epoch metrics as a Markdown table, the best epoch in bold."""
    columns = (("epoch", "Epoch"),) + tuple((c.key, c.header) for c in metric_columns(n_classes))
    lines = ["| " + " | ".join(title for _key, title in columns) + " |",
             "|" + "|".join(" ---: " for _ in columns) + "|"]
    for row in rows:
        cells = [MISSING if row.get(key) is None else _cell(row[key]) for key, _title in columns]
        if row.get("epoch") == best_epoch:
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_class_table(best: dict) -> list[str]:
    """The best epoch's precision, recall, F1 and support of each class (rows since multi-class
    support have them)."""
    per_class = best.get("per_class")
    if not isinstance(per_class, dict):
        return []
    lines = ["## Per class (best epoch)", "", "| Class | Precision | Recall | F1 | Support |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, values in per_class.items():
        lines.append(f"| {_cell(name)} | " + " | ".join(
            format_metric(values.get(key)) for key in ("precision", "recall", "f1"))
            + f" | {values.get('support', MISSING)} |")
    return lines + [""]


def decision_lines(run: Run) -> list[str]:
    """The card's section on the run's decision threshold and calibration, when it has either:
    lorasent-tui's Predictor applies them, a plain pipeline does not."""
    from lorasent_tui.core.calibration import read_calibration
    from lorasent_tui.core.predict import run_decision
    from lorasent_tui.core.threshold import method_name, read_threshold

    decision = run_decision(run)
    lines = []
    if decision["threshold"] is not None:
        chosen = read_threshold(run.path) or {}
        lines.append(f"- Decision threshold: `{run_label_names(run.config().labels)[1]}` when its "
                     f"probability is at least {decision['threshold']:.4f} (chosen by "
                     f"{method_name(chosen.get('method', ''), chosen.get('max_fpr'))} on validation; "
                     f"recorded as `lorasent_threshold` in an export's config.json).")
    if decision["temperature"] is not None:
        fit = read_calibration(run.path) or {}
        lines.append(f"- Calibration: temperature {decision['temperature']:.3f} (class log-"
                     f"probabilities divided by it), validation ECE {format_metric(fit.get('ece_before'))}"
                     f" before, {format_metric(fit.get('ece_after'))} after (recorded as "
                     f"`lorasent_temperature`).")
    if not lines:
        return []
    return ["## Decision threshold and calibration", "", *lines, "",
            "`lorasent-tui predict` applies these. A plain `transformers` pipeline does not: it "
            "reports the model's own probabilities and the most probable class.", ""]


def _front_matter(fields: dict[str, Any]) -> str:
    # JSON strings are valid YAML double-quoted scalars, so every value is quoted safely.
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"- {json.dumps(item)}" for item in value)
        else:
            lines.append(f"{key}: {json.dumps(value)}")
    lines.append("---")
    return "\n".join(lines)


def model_card_text(run: Run, merged: bool = False) -> str:
    """The model card of a run: its adapter (``merged=False``) or a merged export of it."""
    config = run.config()
    names = run_label_names(config.labels)
    rows = run.metrics()
    best = run.best_row(rows)
    try:
        state = run.effective_state()
    except RunError:
        state = "unknown"
    base = _loadable_base(config.model)
    hub_base = _hub_base_model(config.model)
    dataset = _DATASET_HUB_IDS.get(config.dataset.strip().lower())
    front = _front_matter({
        "library_name": "transformers" if merged else "peft",
        "base_model": hub_base,
        "tags": ([] if merged else ["peft"]) + ["lora", "sentiment-analysis", "text-classification",
                                               "lorasent-tui"],
        "datasets": [dataset] if dataset else None,
        "metrics": ["accuracy", "precision", "recall", "f1", "roc_auc"],
        "pipeline_tag": "text-classification",
    })
    what = ("a merged copy (LoRA folded into the weights) of" if merged else "a LoRA adapter for")
    task = ("binary sentiment classification" if names == LABEL_NAMES else
            f"{len(names)}-class text classification")
    shown = ", ".join(f"`{name}`" for name in names)
    parts = [front, "", f"# {run.run_id}", "",
             f"This is {what} `{config.model}`, fine-tuned with lorasent-tui for {task} "
             f"(labels {shown}) on `{config.dataset}`.", ""]
    if best is not None:
        f1 = (f"F1 {format_metric(best.get('f1'))}" if len(names) == 2
              else f"macro F1 {format_metric(best.get('f1_macro'))}")
        parts += [f"**Best epoch: {best['epoch']}** of {config.epochs} (run {state}): accuracy "
                  f"{format_metric(best.get('accuracy'))}, {f1}, ROC AUC "
                  f"{format_metric(best.get('roc_auc'))} on {config.eval_size} validation "
                  f"reviews. The weights here are those of the best epoch.", ""]
    else:
        parts += [f"No epoch has finished yet (run {state}).", ""]
    parts += scored_sets_lines(run)
    best_epoch = None if best is None else best["epoch"]
    parts += ["## Metrics", "", metrics_table(rows, best_epoch, len(names)) if rows else "_none yet_",
              ""]
    parts += per_class_table(best) if best is not None else []
    parts += decision_lines(run)
    parts += ["## Training configuration", "", "| Setting | Value |", "| --- | --- |"]
    parts += [f"| `{key}` | {_cell(value, digits=False)} |" for key, value in config.to_dict().items()]
    long_reviews = (f"Reviews longer than {config.max_length} tokens were cut "
                    f"({config.truncation} truncation) in training and evaluation.")
    if config.sliding_windows:
        read = ("as the fewest windows of that size that cover it, spread evenly from its start to its"
                " end, and averaged their class log-probabilities" if config.window_layout == "cover" else
                "also as overlapping windows of that size, half a window apart, and averaged the class"
                " log-probabilities: half the weight for the cut review, half shared by the windows")
        long_reviews += (
            f" Validation read each longer review {read}. The metrics above were measured that way;"
            " a plain pipeline call reads the cut review only, which scores somewhat lower on long reviews.")
    parts += ["", long_reviews, ""]
    unlabeled = pseudo_card_paragraph(config, rows)
    parts += [unlabeled, ""] if unlabeled else []
    parts += ["## How to use", ""]
    if merged:
        parts += ["A plain `transformers` model; PEFT is not needed:", "", "```python",
                  "from transformers import pipeline", "",
                  'classifier = pipeline("text-classification", model="path/to/this/folder", top_k=None)',
                  'print(classifier("A wonderful, moving film."))',
                  "# [[{'label': 'positive', 'score': ...}, {'label': 'negative', 'score': ...}]]",
                  "```", ""]
    else:
        parts += ["With PEFT, on the base model (the classification head is stored in the adapter):",
                  "", "```python", "import torch",
                  "from peft import PeftModel",
                  "from transformers import AutoModelForSequenceClassification, AutoTokenizer", "",
                  "base = AutoModelForSequenceClassification.from_pretrained(",
                  f"    {base!r}, num_labels={len(names)},",
                  "    id2label={" + ", ".join(f"{i}: {json.dumps(n)}" for i, n in enumerate(names))
                  + "}, label2id={" + ", ".join(f"{json.dumps(n)}: {i}" for i, n in enumerate(names))
                  + "})",
                  'model = PeftModel.from_pretrained(base, "path/to/run/adapter").eval()',
                  f"tokenizer = AutoTokenizer.from_pretrained({base!r})",
                  f'inputs = tokenizer(["A wonderful, moving film."], truncation=True, '
                  f'max_length={config.max_length}, return_tensors="pt")',
                  "with torch.no_grad():",
                  "    print(model(**inputs).logits.softmax(-1))  # [["
                  + ", ".join(f"p({name})" for name in names) + "]]",
                  "```", "",
                  "As a plain `transformers` pipeline, after `lorasent-tui export RUN --merged DIR`:",
                  "", "```python", "from transformers import pipeline", "",
                  'classifier = pipeline("text-classification", model="DIR", top_k=None)',
                  'print(classifier("A wonderful, moving film."))', "```", ""]
    return "\n".join(parts)


def scored_sets_lines(run: Run) -> list[str]:
    """The test split's result and each evaluation on other data, apart from validation."""
    parts = []
    test = held_out_result(run.path)
    if test is not None:
        parts += [f"**{summary_line(test, 'Test')}**: held-out reviews scored once with the best "
                  "epoch; they played no part in training or in choosing the epoch.", ""]
    scored = evaluations(run.path)
    if scored:
        parts += ["## Evaluations on other data", "", "| Name | Dataset | Reviews | Accuracy | Date |",
                  "| --- | --- | ---: | ---: | --- |"]
        for r in scored:
            split = f" ({r.meta['split']})" if r.meta.get("split") else ""
            parts.append(f"| {r.name} | `{r.meta.get('dataset')}`{split} | {r.size:,} | "
                         f"{format_metric(r.accuracy)} | {str(r.meta.get('date', ''))[:10]} |")
        parts += [""]
    return parts


def write_model_card(run: Run) -> Path:
    """Write (or refresh) the run folder's ``README.md`` model card; returns its path."""
    path = run.path / MODEL_CARD
    atomic_write_text(path, model_card_text(run))
    return path


# -- merged export ---------------------------------------------------------------------------


def is_previous_export(folder: Path) -> bool:
    return (folder / EXPORT_MARKER).is_file() and (folder / "config.json").is_file()


def check_export_target(out_dir: Path, run: Run, inside_run: bool = False) -> None:
    """Refuse a target that is a file, a non-empty folder other than an earlier export, or (unless
    ``inside_run``, for the run's own ONNX folder) a folder inside the run."""
    if out_dir.exists() and not out_dir.is_dir():
        raise LorasentError(f"export target {out_dir} exists and is not a folder")
    if not inside_run and (out_dir.resolve() == run.path.resolve()
                           or run.path.resolve() in out_dir.resolve().parents):
        raise LorasentError(f"export target {out_dir} is inside the run folder; choose another folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_previous_export(out_dir):
        raise LorasentError(
            f"export target {out_dir} is not empty and is not a previous lorasent-tui export; "
            f"choose a new or empty folder")


def build_merged(run: Run) -> tuple[Any, Any]:
    from lorasent_tui.core import models
    from lorasent_tui.core.predict import load_trained

    config = run.config()
    model, tokenizer = load_trained(run, merge=True)  # its config names the run's classes
    # pipeline(..., truncation=True) then cuts where training did (head+tail is not possible there).
    tokenizer.model_max_length = min(config.max_length, models.model_max_length(model))
    tokenizer.truncation_side = "left" if config.truncation == "left" else "right"
    tokenizer.init_kwargs.pop("local_files_only", None)  # how we loaded it, not how to load it
    return model.eval(), tokenizer


def record_decision(model: Any, run: Run) -> None:
    """Keep the run's decision threshold and temperature in the exported config.json, for code
    that wants to apply them (a pipeline ignores unknown config keys)."""
    from lorasent_tui.core.predict import run_decision

    for key, value in run_decision(run).items():
        if value is not None:
            setattr(model.config, f"lorasent_{key}", value)


def export_merged(ref: str, out_dir: Path | str, runs_dir: Path | str = "runs") -> Path:
    """Write run ``ref``'s best adapter merged into its base model to ``out_dir``; returns it.

    The folder is written beside ``out_dir`` and renamed into place, so it is complete or
    absent. An existing non-empty ``out_dir`` is refused unless it is a previous export.
    """
    run = RunStore(runs_dir).get(ref)
    out_dir = Path(out_dir).expanduser()
    check_export_target(out_dir, run)
    config = run.config()
    model, tokenizer = build_merged(run)
    record_decision(model, run)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with staged_dir(out_dir) as staging:
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
            atomic_write_text(staging / MODEL_CARD, model_card_text(run, merged=True))
            atomic_write_text(staging / EXPORT_MARKER, json.dumps({
                "run_id": run.run_id, "run_dir": str(run.path.resolve()), "base_model": config.model,
                "best_epoch": run.status().get("best_epoch"), "exported_at": now_iso()}, indent=2) + "\n")
            check_export_target(out_dir, run)  # again: something may have appeared while saving
            if out_dir.is_dir() and not any(out_dir.iterdir()):
                out_dir.rmdir()
    except OSError as exc:
        raise LorasentError(f"cannot write export to {out_dir}: {exc.strerror or exc}") from None
    try:
        write_model_card(run)
    except OSError:
        pass  # the export is complete; a read-only run folder only loses its card
    return out_dir
