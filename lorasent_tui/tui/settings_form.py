"""The training settings form: one input per setting, the core's message under each bad one.

Validation is the core's ``build_config`` (same rules as the CLI); its
``ConfigError.field_errors`` are shown next to the fields they belong to.

Kept flat on purpose: every widget here is styled at start-up and re-laid out on each
switch to the Train tab, so the form is one two-column grid (label, input), an error
line is mounted only under a field that has an error, and hints are tooltips plus one
shared help line for the focused field (111 -> 48 widgets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual import events
from textual.containers import Grid, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Select, Static

from lorasent_tui.core.config import DEVICES, PRESETS, TrainConfig, build_config
from lorasent_tui.core.errors import ConfigError

BUNDLED_MODELS = ("minilm", "distilbert-base-uncased", "albert-base-v2")
KNOWN_DATASETS = ("imdb", "rotten_tomatoes")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    hint: str = ""
    choices: tuple[str, ...] = ()  # a Select instead of an Input
    suggestions: tuple[str, ...] = ()


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("model", "Model", ", ".join(BUNDLED_MODELS) + ", a hub name or a folder",
              suggestions=BUNDLED_MODELS),
    FieldSpec("preset", "Preset", "refills the settings it defines", choices=tuple(PRESETS)),
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
)
FORM_FIELDS = tuple(spec.name for spec in FIELDS)
SPECS = {spec.name: spec for spec in FIELDS}
HELP_DEFAULT = "Tab moves between settings; invalid ones are flagged below their row."


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def settings_summary(config: TrainConfig) -> str:
    """The form's settings as read-only text: shown instead of the form while a run trains."""
    values = config.to_dict()
    lines = [f"{spec.label:<13} {to_text(values.get(spec.name)) or '–'}" for spec in FIELDS]
    return "Settings of this run\n\n" + "\n".join(lines)


class SettingsForm(VerticalScroll):
    # One line per setting (compact inputs) so the whole form fits a 40-row terminal.
    DEFAULT_CSS = """
    SettingsForm #fields { grid-size: 2; grid-columns: 14 1fr; grid-rows: 1; height: auto; }
    SettingsForm .field-label { color: $text-muted; }
    SettingsForm #fields > Input { background: $boost; }
    SettingsForm #field-help { dock: bottom; height: 3; color: $text-muted; text-style: italic; }
    SettingsForm .field-error { column-span: 2; color: $error; text-style: bold; }
    SettingsForm Input.has-error, SettingsForm Select.has-error > SelectCurrent {
        background: $error 30%;
    }
    """

    def __init__(self, config: TrainConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config = config
        self._preset = config.preset
        # Settings without a field (truncation, warmup, ...) ride along from the config/preset.
        self._hidden = {k: v for k, v in config.to_dict().items() if k not in FORM_FIELDS}
        self.errors: dict[str, str] = {}
        self._help_text = HELP_DEFAULT
        self._choices: dict[str, list[str]] = {}  # options of each Select field

    def compose(self) -> ComposeResult:
        values = self._config.to_dict()
        with Grid(id="fields"):
            for spec in FIELDS:
                yield Label(spec.label, classes="field-label")
                yield self._make_input(spec, values.get(spec.name))
        # Docked: stays in view while the fields scroll.
        yield Static(HELP_DEFAULT, id="field-help")

    def _make_input(self, spec: FieldSpec, value: Any) -> Input | Select:
        widget_id = f"field-{spec.name}"
        if spec.choices:
            choices = self._choices[spec.name] = list(spec.choices)
            if value not in choices:  # e.g. device "cuda:1" from a config file
                choices.append(str(value))
            widget: Input | Select = Select([(c, c) for c in choices], value=value, allow_blank=False,
                                            id=widget_id, compact=True)
        else:
            suggester = SuggestFromList(spec.suggestions, case_sensitive=False) if spec.suggestions else None
            widget = Input(to_text(value), id=widget_id, suggester=suggester, compact=True)
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
        widget = self.query_one(f"#field-{name}")
        if isinstance(widget, Select):
            choices = self._choices[name]
            if str(value) not in choices:  # a loaded file or resumed run may name e.g. cuda:1
                choices.append(str(value))
                widget.set_options([(c, c) for c in choices])
            widget.value = str(value)
        else:
            widget.value = to_text(value)

    def fill(self, config: TrainConfig) -> None:
        self._preset = config.preset
        self._hidden = {k: v for k, v in config.to_dict().items() if k not in FORM_FIELDS}
        for name in FORM_FIELDS:
            self.set_value(name, getattr(config, name))
        self.validate()

    def apply_preset(self, preset: str) -> None:
        """Refill every setting the preset defines; model, data and sizes stay as typed."""
        self._preset = preset
        for name, value in PRESETS[preset].items():
            if name in FORM_FIELDS:
                self.set_value(name, value)
            else:
                self._hidden[name] = value
        self.validate()

    # -- validation ----------------------------------------------------------------------
    def validate(self) -> TrainConfig | None:
        """Build the config; flag every invalid field with the core's message."""
        values = {**self._hidden, **self.values()}
        try:
            config = build_config(values)
            errors: dict[str, str] = {}
        except ConfigError as exc:
            config, errors = None, exc.field_errors
        self._show_errors(errors)
        return config

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
                self.query_one("#fields", Grid).mount(error, after=field)
            else:
                shown.remove()
                continue
            # Rows are one line each (an auto row is measured at one column's width, too
            # narrow): a long message spans as many rows as it needs at the form's width.
            width = max(10, self.scrollable_content_region.width)
            error.styles.row_span = -(-(len(message) + 2) // width)

    def hidden_errors(self) -> dict[str, str]:
        """Problems in settings that have no field here (e.g. from a config file)."""
        return {k: v for k, v in self.errors.items() if k not in FORM_FIELDS}

    def focus_first_error(self) -> None:
        for name in FORM_FIELDS:
            if name in self.errors:
                widget = self.query_one(f"#field-{name}")
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
            self.apply_preset(str(event.value))
        else:
            self.validate()
