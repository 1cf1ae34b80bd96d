"""Building and running the app: ``make_app`` wires the real core or test fakes; ``run_tui``
is what the CLI calls, and owns the process's exit while a trainer thread may still run."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from lorasent_tui.core.config import TrainConfig, build_config
from lorasent_tui.tui.app import LorasentApp
from lorasent_tui.tui.services import (
    DefaultDataLoader, DefaultPredictorFactory, Services, default_sweeper, default_trainer,
)
from lorasent_tui.tui.settings_file import recall_settings

AFTER_EXIT_WAIT_SECONDS = 20.0


def make_app(config: TrainConfig | None = None, *, runs_dir: Path = Path("runs"), start: bool = False,
             trainer: Callable[..., Any] | None = None, predictor_factory: Any = None,
             data_loader: Any = None, config_path: Path | None = None,
             flags: Mapping[str, Any] | None = None, sweeper: Callable[..., Any] | None = None) -> LorasentApp:
    """Build the app; pass fakes for ``trainer``, ``predictor_factory``, ``data_loader`` and
    ``sweeper`` in tests.

    ``config`` is the resolved start configuration (the CLI's --config file and flags);
    ``config_path`` is that file, offered first by Save/Load settings. With ``flags`` (the
    launch's setting flags, field -> value or None; given when neither --config nor --preset
    was), the runs folder's remembered settings replace ``config``, the flags on top.
    """
    note = ""
    if flags is not None:
        remembered, note = recall_settings(runs_dir, flags)
        if remembered is not None:
            config = remembered
            note = f"Settings as last used in {runs_dir}; f9 resets them to the preset's defaults."
    services = Services(
        runs_dir=Path(runs_dir),
        trainer=trainer or default_trainer,
        predictors=predictor_factory or DefaultPredictorFactory(),
        data=data_loader or DefaultDataLoader(),
        sweeper=sweeper or default_sweeper,
    )
    return LorasentApp(config or build_config(), services, start=start, config_path=config_path,
                       start_note=note)


def run_tui(config: TrainConfig | None, runs_dir: Path, start: bool = False,
            config_path: Path | None = None, flags: Mapping[str, Any] | None = None) -> int:
    """Run the TUI until the user quits; returns the process exit status (``flags``: see make_app)."""
    app = make_app(config, runs_dir=runs_dir, start=start, config_path=config_path, flags=flags)

    async def main() -> None:
        await app.run_async()
        # The terminal is restored now; a trainer still finishing its step is waited for
        # here, visibly and for a bounded time, so the run ends marked "stopped".
        session = app.training_session
        if session is None or not session.running:
            return
        if not app.quit_at_once:
            print("Waiting for the training run to stop… (ctrl+c quits at once)", file=sys.stderr)
            try:
                await asyncio.to_thread(session.done.wait, AFTER_EXIT_WAIT_SECONDS)
            except asyncio.CancelledError:  # ctrl+c
                pass
        if session.running:
            print("Quit without waiting for training to stop: the run shows as interrupted "
                  "(resume it from the Runs tab or with train --resume).", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            # The trainer thread cannot be cancelled, and interpreter shutdown would join it;
            # its run folder is safe to leave at any moment (every file is replaced atomically).
            os._exit(app.return_code or 0)

    asyncio.run(main())
    return app.return_code or 0
