"""A Footer that rebuilds only when what it shows changes.

Textual's Footer recomposes (removes and re-mounts every key, then a full-screen
re-layout) on every bindings update, which fires on each focus move, so a tab switch
paid for one or two rebuilds even when the keys shown were identical. This one
compares what it would show with what it shows and skips the no-op rebuilds.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class StableFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _signature(self) -> tuple[Any, ...]:
        """Everything Footer.compose reads from the active bindings, in order."""
        shown = tuple(
            (binding.key, binding.action, binding.description, binding.group, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
        )
        return shown, self.compact, self.show_command_palette

    def bindings_changed(self, screen: Screen) -> None:
        # Same guards as Footer.bindings_changed; only the recompose is made conditional.
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        signature = self._signature()
        if signature != self._shown:
            self._shown = signature
            await self.recompose()
