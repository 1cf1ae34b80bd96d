"""Save settings… / Load settings…: the Train form to and from a TOML (or JSON) file.

The file format is the CLI's ``--config`` format (core.configfile), so a file saved
here trains headless with ``lorasent-tui train --config FILE`` and back. Reading and
writing happen in a thread; every problem becomes one status-line message.

The settings are remembered the same way per runs folder (``<runs>/last-settings.toml``,
when a run starts and when the app quits), and the next launch starts from them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from lorasent_tui.core.config import FIELD_NAMES, TrainConfig, build_config
from lorasent_tui.core.configfile import config_to_toml, read_config_file
from lorasent_tui.core.errors import ConfigError, describe_exception
from lorasent_tui.core.fsutil import atomic_write_text
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.settings_form import field_problems

if TYPE_CHECKING:
    from lorasent_tui.tui.app import LorasentApp

DEFAULT_SETTINGS_FILE = "lorasent.toml"
REMEMBERED_FILE = "last-settings.toml"  # in the runs folder


def remember_settings(runs_dir: Path, config: TrainConfig) -> None:
    """Keep ``config`` as the runs folder's last settings (atomically: never half a file)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(runs_dir / REMEMBERED_FILE, config_to_toml(config))


def recall_settings(runs_dir: Path, flags: Mapping[str, Any]) -> tuple[TrainConfig | None, str]:
    """The remembered settings with the launch's ``flags`` (field -> value, None: not given) on top.

    Returns (None, "") when nothing is remembered, and (None, why) when the remembered file
    no longer builds a config (then the launch's own config stands).
    """
    path = Path(runs_dir) / REMEMBERED_FILE
    if not path.is_file():
        return None, ""
    try:
        values = read_config_file(path)
        values.update({name: flags[name] for name in FIELD_NAMES if flags.get(name) is not None})
        return build_config(values), ""
    except ConfigError as exc:
        return None, f"Remembered settings in {path} not used: {field_problems(exc.field_errors)}"


class PathScreen(ModalScreen[Path | None]):
    """Asks for a file path; Enter answers it, Escape answers None."""

    DEFAULT_CSS = """
    PathScreen { align: center middle; }
    PathScreen > Vertical {
        width: 72; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    PathScreen #path-title { text-style: bold; }
    PathScreen #path-input { margin: 1 0; }
    PathScreen #path-hint { color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="path-cancel")]

    def __init__(self, title: str, default: Path, verb: str) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="path-title")
            yield Input(str(self.default), id="path-input")
            yield Static(f"enter {self.verb} · escape cancel · relative paths start in {Path.cwd()}",
                         id="path-hint")

    def on_mount(self) -> None:
        self.query_one("#path-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.dismiss(Path(text).expanduser())
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)


async def save_settings(app: LorasentApp) -> None:
    """Ask for a path and write the form's settings there; refuse while the form is invalid."""
    form = app.train_panel.form
    config = form.validate()
    if config is None:
        app.action_show_tab("train")
        form.focus_first_error()
        app.show_status(f"Settings not saved, fix them first: {form.problems()}", "error", topic="settings")
        return
    path = await app.push_screen_wait(PathScreen("Save the training settings to", app.settings_path, "saves"))
    if path is None:
        return
    if await asyncio.to_thread(path.exists):
        if not await app.push_screen_wait(ConfirmScreen(f"{path} exists. Replace it?", "Replace")):
            return
    try:
        await asyncio.to_thread(atomic_write_text, path, config_to_toml(config))
    except Exception as exc:  # any write problem is a message, never a crash
        app.show_status(f"Settings not saved to {path}: {describe_exception(exc)}", "error")
        return
    app.settings_path = path
    app.show_status(f"Settings saved to {path}.")


async def load_settings(app: LorasentApp) -> None:
    """Ask for a path and fill the form from it; a file with any bad setting changes nothing."""
    path = await app.push_screen_wait(PathScreen("Load training settings from", app.settings_path, "loads"))
    if path is None:
        return
    try:
        values = await asyncio.to_thread(read_config_file, path)
        config = build_config(values)
    except ConfigError as exc:
        errors = exc.field_errors
        if set(errors) == {"config"}:  # the file itself: missing, unreadable, not TOML/JSON
            app.show_status(f"Settings not loaded: {errors['config']}", "error")
        else:
            app.show_status(f"Settings not loaded, {path} has bad settings: {field_problems(errors)}",
                            "error")
        return
    except Exception as exc:
        app.show_status(f"Settings not loaded from {path}: {describe_exception(exc)}", "error")
        return
    app.train_panel.form.fill(config)
    app.settings_path = path
    app.show_status(f"Settings loaded from {path}.")
