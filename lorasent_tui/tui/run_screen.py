"""A view of one or more runs over the app: a framed box of nearly the whole terminal, its title
on top, and a footer of its own keys (the app's footer under it would show stale ones)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen

from lorasent_tui.tui.widgets.footer import StableFooter


class RunScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    RunScreen { align: center middle; }
    RunScreen > .run-frame {
        width: 96%; height: 94%; padding: 0 1;
        border: thick $primary; background: $surface;
    }
    RunScreen .run-title { height: auto; text-style: bold; }
    """
    FRAME_ID = ""  # the frame's id, which a subclass's CSS and tests name

    def compose(self) -> ComposeResult:
        with Vertical(id=self.FRAME_ID, classes="run-frame"):
            yield from self.compose_frame()
        yield StableFooter(compact=True)  # compact: the run view's keys fit 80 columns

    def compose_frame(self) -> ComposeResult:
        """What the frame holds, its title (class ``run-title``) first."""
        raise NotImplementedError
