"""Resume (u on the Runs tab): asks how many epochs the run should have in total.

A stopped, failed or interrupted run continues to its planned epochs by default; a completed
one can be extended, so the default there is a few epochs more. The run never shrinks.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from lorasent_tui.core.store import RunSummary

EXTEND_BY = 2  # the default number of epochs added to a completed run


def resume_epochs_default(summary: RunSummary) -> int:
    return summary.epochs + EXTEND_BY if summary.state == "completed" else summary.epochs


def fewest_epochs(summary: RunSummary) -> int:
    """The smallest total that trains anything: a completed run needs one epoch more."""
    return summary.epochs + 1 if summary.state == "completed" else summary.epochs


class ResumeEpochsScreen(ModalScreen[int | None]):
    """Enter answers the total number of epochs; Escape answers None."""

    DEFAULT_CSS = """
    ResumeEpochsScreen { align: center middle; }
    ResumeEpochsScreen > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $primary; background: $surface;
    }
    ResumeEpochsScreen #epochs-title { text-style: bold; }
    ResumeEpochsScreen #epochs-input { margin: 1 0 0 0; }
    ResumeEpochsScreen #epochs-error { color: $error; height: auto; }
    ResumeEpochsScreen #epochs-hint { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="epochs-cancel")]

    def __init__(self, summary: RunSummary) -> None:
        super().__init__()
        self.summary = summary
        self.minimum = fewest_epochs(summary)

    def compose(self) -> ComposeResult:
        s = self.summary
        verb = "Extend" if s.state == "completed" else "Resume"
        with Vertical():
            yield Static(f"{verb} run {s.run_id} ({s.state}, {s.epochs_done} of {s.epochs} epochs done)\n"
                         f"to how many epochs in total?", id="epochs-title")
            yield Input(str(resume_epochs_default(s)), type="integer", id="epochs-input")
            yield Static("", id="epochs-error")
            yield Static(f"enter {verb.lower()} · escape cancel · at least {self.minimum}; epochs beyond "
                         f"{s.epochs} get a fresh learning-rate decay", id="epochs-hint")

    def on_mount(self) -> None:
        self.query_one("#epochs-input", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            epochs = int(event.value.strip())
        except ValueError:
            epochs = 0
        if epochs < self.minimum:
            self.query_one("#epochs-error", Static).update(f"Enter a whole number of at least {self.minimum}.")
            return
        self.dismiss(epochs)

    def action_cancel(self) -> None:
        self.dismiss(None)
