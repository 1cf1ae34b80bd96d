"""The training settings form: one input per setting, the core's message under each bad one.

Validation is the core's ``build_config`` (same rules as the CLI); its
``ConfigError.field_errors`` are shown next to the fields they belong to. Every
``TrainConfig`` setting has a field: the everyday ones first, the rest in an "Advanced"
section that starts collapsed and opens by itself when one of its fields is invalid.

Kept flat on purpose: every widget here is styled at start-up and re-laid out on each
switch to the Train tab, so each section is one two-column grid (label, input), an error
line is mounted only under a field that has an error, and hints are tooltips plus one
shared help line for the focused field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Collapsible, Input, Label, Select, Static

from lorasent_tui.core.config import (CLASS_WEIGHTS, DEVICES, PRESETS, TRUNCATION_SIDES,
                                      UNLABELED_BUILTIN, WINDOW_LAYOUTS, TrainConfig, build_config)
from lorasent_tui.core.errors import ConfigError
from lorasent_tui.core.precision import PRECISIONS

BUNDLED_MODELS = ("minilm", "distilbert-base-uncased", "albert-base-v2")
KNOWN_DATASETS = ("imdb", "rotten_tomatoes")
ON_OFF = ("true", "false")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    hint: str = ""
    choices: tuple[str, ...] = ()  # a Select instead of an Input
    suggestions: tuple[str, ...] = ()
    advanced: bool = False  # in the collapsed "Advanced" section


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("model", "Model", ", ".join(BUNDLED_MODELS) + ", a hub name or a folder",
              suggestions=BUNDLED_MODELS),
    FieldSpec("preset", "Preset", "refills the settings it defines that you have not edited",
              choices=tuple(PRESETS)),
    FieldSpec("dataset", "Dataset", "imdb, rotten_tomatoes, a .csv/.jsonl file, a hub name",
              suggestions=KNOWN_DATASETS),
    FieldSpec("text_column", "Text column"),
    FieldSpec("label_column", "Label column"),
    FieldSpec("train_size", "Train size"),
    FieldSpec("eval_size", "Eval size"),
    FieldSpec("epochs", "Epochs"),
    FieldSpec("learning_rate", "Learning rate"),
    FieldSpec("batch_size", "Batch size"),
    FieldSpec("max_length", "Max tokens"),
    FieldSpec("lora_r", "LoRA r"),
    FieldSpec("lora_alpha", "LoRA alpha"),
    FieldSpec("lora_dropout", "LoRA dropout"),
    FieldSpec("target_modules", "LoRA targets", "query key value attn_out ffn_in ffn_out"),
    FieldSpec("lora_layers", "LoRA layers", "top N layers only (lower ones cached); empty: all"),
    FieldSpec("seed", "Seed"),
    FieldSpec("device", "Device", choices=DEVICES),
    FieldSpec("processes", "Processes", "more than 1: a torchrun job, one process per GPU"),
    FieldSpec("truncation", "Truncation", "which part of a review longer than Max tokens is kept",
              choices=TRUNCATION_SIDES, advanced=True),
    FieldSpec("sliding_windows", "Windows", "sliding windows: evaluation and Predict read all of a "
              "long review, window by window (more texts to score)", choices=ON_OFF, advanced=True),
    FieldSpec("window_layout", "Layout", "cover: the fewest windows covering a long review; overlap: "
              "the cut review and windows half a window apart", choices=WINDOW_LAYOUTS, advanced=True),
    FieldSpec("precision", "Precision", "auto: bf16 where the hardware computes it natively",
              choices=PRECISIONS, advanced=True),
    FieldSpec("head_learning_rate", "Head LR", "learning rate of the classification head; "
              "empty: the Learning rate", advanced=True),
    FieldSpec("warmup_ratio", "Warmup", "fraction of steps with a linear learning-rate warmup",
              advanced=True),
    FieldSpec("weight_decay", "Weight decay", "AdamW weight decay", advanced=True),
    FieldSpec("short_crops", "Short crops", "also train on each train review's last sentence "
              "(better verdicts for one-sentence texts)", choices=ON_OFF, advanced=True),
    FieldSpec("ema_decay", "EMA decay", "evaluate and save a moving average of the weights "
              "(per-step decay, e.g. 0.98); 0: off", advanced=True),
    FieldSpec("length_bucketing", "Bucketing", "batch reviews of similar length together (faster)",
              choices=ON_OFF, advanced=True),
    FieldSpec("eval_batch_size", "Eval batch", "batch size when evaluating", advanced=True),
    FieldSpec("train_pooler", "Train pooler", "train the pre-trained pooler fully, with the head",
              choices=ON_OFF, advanced=True),
    FieldSpec("model_dropout", "Model dropout", "dropout inside the encoder; empty: the model's own",
              advanced=True),
    FieldSpec("logging_steps", "Log every", "training steps between step-loss points", advanced=True),
    FieldSpec("labels", "Labels", "class names in class order, comma-separated; empty: from the data",
              advanced=True),
    FieldSpec("test_size", "Test size", "held-out reviews scored once with the best epoch when "
              "the run completes; 0: none", advanced=True),
    FieldSpec("balance", "Balance", "balanced splits where every class has enough reviews; false: "
              "the data's class proportions", choices=ON_OFF, advanced=True),
    FieldSpec("class_weights", "Class weights", "balanced: the loss weighs each class by its inverse "
              "frequency (imbalanced data)", choices=CLASS_WEIGHTS, advanced=True),
    FieldSpec("calibrate", "Calibrate", "fit temperature scaling on validation when training ends "
              "(calibrated probabilities)", choices=ON_OFF, advanced=True),
    FieldSpec("unlabeled", "Unlabeled", "texts to self-train on: imdb-unlabeled or a .csv/.jsonl "
              "file's text column; empty: none", suggestions=(UNLABELED_BUILTIN,), advanced=True),
    FieldSpec("unlabeled_size", "Unlab. size", "at most this many unlabeled texts, scored after "
              "each epoch", advanced=True),
    FieldSpec("pseudo_threshold", "Pseudo conf.", "top class probability an unlabeled text needs "
              "for a pseudo-label", advanced=True),
    FieldSpec("unlabeled_weight", "Unlabeled wt", "weight of the pseudo-labelled loss",
              advanced=True),
    FieldSpec("unlabeled_ratio", "Unlab. ratio", "pseudo-labelled texts per labelled text in a step",
              advanced=True),
    FieldSpec("pseudo_noise", "Pseudo noise", "share of tokens dropped from the cropped copy of a "
              "pseudo-labelled text trained on; 0: none", advanced=True),
    FieldSpec("teacher", "Teacher run", "a finished run (id or latest) that pseudo-labels the "
              "unlabeled texts before epoch 1; empty: none", advanced=True),
)
FORM_FIELDS = tuple(spec.name for spec in FIELDS)
SPECS = {spec.name: spec for spec in FIELDS}
HELP_DEFAULT = "Tab moves between settings; invalid ones are flagged below their row."
ADVANCED_TITLE = "Advanced"


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def field_problems(errors: dict[str, str]) -> str:
    """``name: message; …``: a status line's list of bad settings."""
    return "; ".join(f"{name}: {message}" for name, message in errors.items())


def settings_summary(config: TrainConfig) -> str:
    """The form's settings as read-only text: shown instead of the form while a run trains."""
    values = config.to_dict()
    lines = [f"{spec.label:<13} {to_text(values.get(spec.name)) or '–'}" for spec in FIELDS]
    return "Settings of this run\n\n" + "\n".join(lines)


class SettingsForm(VerticalScroll):
    # One line per setting (compact inputs) so the everyday settings fit a 40-row terminal.
    DEFAULT_CSS = """
    SettingsForm .fields { grid-size: 2; grid-columns: 14 1fr; grid-rows: 1; height: auto; }
    SettingsForm .field-label { color: $text-muted; }
    SettingsForm .fields > Input { background: $boost; }
    SettingsForm #field-help { dock: bottom; height: 3; color: $text-muted; text-style: italic; }
    SettingsForm .field-error { column-span: 2; color: $error; text-style: bold; }
    SettingsForm Input.has-error, SettingsForm Select.has-error > SelectCurrent {
        background: $error 30%;
    }
    SettingsForm #advanced { padding: 0; margin-top: 1; background: transparent; }
    SettingsForm #advanced.-has-error CollapsibleTitle { color: $error; text-style: bold; }
    SettingsForm #advanced Contents { padding: 0; }
    """

    class ValidityChanged(Message):
        """The settings became valid (``valid``) or invalid."""

        def __init__(self, valid: bool) -> None:
            super().__init__()
            self.valid = valid

    class PresetApplied(Message):
        """A new preset refilled ``changed`` fields (``Label old → new``) and kept ``kept``."""

        def __init__(self, preset: str, changed: list[str], kept: list[str]) -> None:
            super().__init__()
            self.preset, self.changed, self.kept = preset, changed, kept

    def __init__(self, config: TrainConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config = config
        self._preset = config.preset
        self.errors: dict[str, str] = {}
        self.last_valid = config  # the newest settings that built a config: what quitting keeps
        self._help_text = HELP_DEFAULT
        self._choices: dict[str, list[str]] = {}  # options of each Select field
        # What the app itself last put in each field (start, preset, a loaded file): a field
        # showing anything else was edited by the user, and a new preset leaves it alone.
        self._set_by_app = {spec.name: to_text(getattr(config, spec.name)) for spec in FIELDS}

    def compose(self) -> ComposeResult:
        with Grid(id="fields", classes="fields"):
            yield from self._rows(advanced=False)
        with Collapsible(title=ADVANCED_TITLE, collapsed=True, id="advanced"):
            with Grid(id="advanced-fields", classes="fields"):
                yield from self._rows(advanced=True)
        # Docked: stays in view while the fields scroll.
        yield Static(HELP_DEFAULT, id="field-help")

    def _rows(self, advanced: bool) -> ComposeResult:
        for spec in FIELDS:
            if spec.advanced == advanced:
                yield Label(spec.label, classes="field-label")
                yield self._make_input(spec, getattr(self._config, spec.name))

    def _make_input(self, spec: FieldSpec, value: Any) -> Input | Select:
        widget_id = f"field-{spec.name}"
        text = to_text(value)
        if spec.choices:
            choices = self._choices[spec.name] = list(spec.choices)
            if text not in choices:  # e.g. device "cuda:1" from a config file
                choices.append(text)
            widget: Input | Select = Select([(c, c) for c in choices], value=text, allow_blank=False,
                                            id=widget_id, compact=True)
        else:
            suggester = SuggestFromList(spec.suggestions, case_sensitive=False) if spec.suggestions else None
            widget = Input(text, id=widget_id, suggester=suggester, compact=True)
        widget.tooltip = spec.hint or None
        return widget

    # -- reading and writing -------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in FORM_FIELDS:
            widget = self.query_one(f"#field-{name}")
            out[name] = widget.value if isinstance(widget, Input) else str(widget.value)
        return out

    def set_value(self, name: str, value: Any) -> None:
        text = self._set_by_app[name] = to_text(value)
        widget = self.query_one(f"#field-{name}")
        if isinstance(widget, Select):
            choices = self._choices[name]
            if text not in choices:  # a loaded file or resumed run may name e.g. cuda:1
                choices.append(text)
                widget.set_options([(c, c) for c in choices])
            widget.value = text
        else:
            widget.value = text

    def fill(self, config: TrainConfig) -> None:
        """Show ``config``: every field, none of them counted as edited."""
        self._preset = config.preset
        for name in FORM_FIELDS:
            self.set_value(name, getattr(config, name))
        self.validate()

    def edited(self) -> list[str]:
        """The fields whose value the user typed or picked (not the app's)."""
        values = self.values()
        return [name for name in FORM_FIELDS if values[name] != self._set_by_app[name]]

    def apply_preset(self, preset: str) -> tuple[list[str], list[str]]:
        """Refill the settings ``preset`` defines, except those the user edited.

        Model, data and sizes are no preset's: they stay. Returns the labels of the fields
        changed (``Label old → new``) and of the edited ones kept.
        """
        self._preset = preset
        self._set_by_app["preset"] = preset
        edited, values = set(self.edited()), self.values()
        changed, kept = [], []
        for name, value in PRESETS[preset].items():
            label = SPECS[name].label
            if name in edited:
                kept.append(label)
            elif values[name] != to_text(value):
                changed.append(f"{label} {values[name] or '–'} → {to_text(value) or '–'}")
                self.set_value(name, value)
            else:
                self._set_by_app[name] = values[name]
        self.validate()
        return changed, kept

    # -- validation ----------------------------------------------------------------------
    def validate(self) -> TrainConfig | None:
        """Build the config; flag every invalid field with the core's message."""
        try:
            config = build_config(self.values())
            errors: dict[str, str] = {}
        except ConfigError as exc:
            config, errors = None, exc.field_errors
        self._show_errors(errors)
        self.last_valid = config or self.last_valid
        return config

    def problems(self) -> str:
        return field_problems(self.errors)

    def _show_errors(self, errors: dict[str, str]) -> None:
        previous, self.errors = self.errors, dict(errors)
        for name in FORM_FIELDS:
            message = errors.get(name, "")
            if message == previous.get(name, ""):
                continue  # validation runs per keystroke: touch only what changed
            field = self.query_one(f"#field-{name}")
            field.set_class(bool(message), "has-error")
            shown = self.query(f"#error-{name}")
            if message and shown:
                error = shown.first(Static)
                error.update(f"✗ {message}")
            elif message:  # the grid places it on its own row, right under the field
                error = Static(f"✗ {message}", classes="field-error", id=f"error-{name}")
                field.parent.mount(error, after=field)
            else:
                shown.remove()
                continue
            # Rows are one line each (an auto row is measured at one column's width, too
            # narrow): a long message spans as many rows as it needs at the form's width.
            width = max(10, self.scrollable_content_region.width)
            error.styles.row_span = -(-(len(message) + 2) // width)
        self._flag_advanced(previous)
        if bool(errors) != bool(previous):
            self.post_message(self.ValidityChanged(valid=not errors))

    def _flag_advanced(self, previous: dict[str, str]) -> None:
        """A problem in the collapsed section is never hidden: it opens, its title says so."""
        bad = [name for name in self.errors if name in SPECS and SPECS[name].advanced]
        section = self.query_one("#advanced", Collapsible)
        section.title = f"{ADVANCED_TITLE} · {len(bad)} to fix" if bad else ADVANCED_TITLE
        section.set_class(bool(bad), "-has-error")
        if set(bad) - set(previous):
            section.collapsed = False

    def focus_first_error(self) -> None:
        for name in FORM_FIELDS:
            if name in self.errors:
                widget = self.query_one(f"#field-{name}")
                if SPECS[name].advanced:
                    self.query_one("#advanced", Collapsible).collapsed = False
                widget.focus()
                self.scroll_to_widget(widget)
                return

    # -- events --------------------------------------------------------------------------
    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        spec = SPECS.get((event.widget.id or "").removeprefix("field-"))
        if spec is None:
            return
        text = f"{spec.label}: {spec.hint}" if spec.hint else HELP_DEFAULT
        help_line = self.query_one("#field-help", Static)
        # Fixed height, so no re-layout; and entering the tab refocuses the same field.
        if text != self._help_text:
            self._help_text = text
            help_line.update(text, layout=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        # Select also reports its initial value; only a real change of preset refills.
        if event.select.id == "field-preset" and event.value != self._preset and event.value in PRESETS:
            preset = str(event.value)
            changed, kept = self.apply_preset(preset)
            self.post_message(self.PresetApplied(preset, changed, kept))
        else:
            self.validate()
