"""Where a sweep's study lives, and how dead workers' trials stop blocking it.

The default is an embedded SQLite file, ``<runs>/sweeps/<study>.db``. Any SQLAlchemy URL
(``postgresql://…``, ``mysql+pymysql://…``) lets processes on several machines share one study;
so does Optuna's journal file on a shared filesystem (a path ending in ``.log`` or ``.journal``).
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Any

from lorasent_tui.core.errors import ConfigError, LorasentError, describe_exception
from lorasent_tui.core.store import RUN_ID_RE, SWEEPS_DIR, pid_alive

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
JOURNAL_SUFFIXES = (".log", ".journal")
# A worker's heartbeat: a trial not heard from for the grace period is failed by the next
# process that opens the study, wherever it runs (SQLAlchemy storages only).
HEARTBEAT_S = 60
GRACE_S = 180
# Tries to open a new database: one more than the parts of Optuna's schema that another process
# opening it at the same moment can create first (its tables, alembic's table, alembic's stamp).
SCHEMA_TRIES = 4
# The driver SQLAlchemy (2.1 on) takes for postgresql:// URLs; the postgres extra installs it.
POSTGRES_DRIVER = "psycopg"


def check_study_name(name: str) -> str:
    if not RUN_ID_RE.match(name or "") or ".." in name or len(name) > 100:
        raise ConfigError({"study": f"invalid study name {name!r}: use letters, digits, '.', '_' "
                                    "and '-' (at most 100)"})
    return name


def sweeps_dir(runs_dir: Path) -> Path:
    return Path(runs_dir) / SWEEPS_DIR


def stop_file(runs_dir: Path, study: str) -> Path:
    """Created by anyone (``touch``) to stop every sweep process of the study at its next step."""
    return sweeps_dir(runs_dir) / f"{study}.STOP"


def storage_url(storage: str | None, runs_dir: Path, study: str) -> str:
    """The storage a sweep uses: ``--storage`` as given, else the study's SQLite file."""
    if storage:
        return storage
    folder = sweeps_dir(runs_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LorasentError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return f"sqlite:///{folder / f'{study}.db'}"


def describe_storage(url: str) -> str:
    """The storage for people: a database URL without its password."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is reported on opening
        return url.split("@")[-1]


def open_storage(url: str) -> Any:
    """An Optuna storage for a URL, a SQLite file path or a journal file path."""
    lowered = url.lower()
    if "://" not in url:
        if lowered.endswith(JOURNAL_SUFFIXES):
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            return JournalStorage(JournalFileBackend(url))
        if not lowered.endswith(SQLITE_SUFFIXES):
            raise ConfigError({"storage": f"{url!r}: give a database URL (sqlite:///sweep.db, "
                                          "postgresql://user@host/db) or a journal file ending in .log"})
        url = f"sqlite:///{url}"
    try:
        return open_database(url)
    except Exception as exc:  # noqa: BLE001 - a bad URL, a missing driver, a server that is down
        raise LorasentError(f"cannot open storage {describe_storage(url)}: "
                            f"{describe_open_failure(exc)}") from None


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # SQLite makes a writer wait for another process's lock for up to this long, not fail.
        return {"connect_args": {"timeout": 60}}
    # A trial holds pooled connections idle for a whole epoch; a server, proxy or firewall may
    # close them meanwhile. Testing each one as it is taken out replaces a dead one.
    return {"pool_pre_ping": True}


def open_database(url: str) -> Any:
    """Optuna's storage on a SQLAlchemy URL, creating its tables in a new database.

    Processes that open a new database at the same moment all try to create the tables, and on
    PostgreSQL all but the first fail (CREATE TABLE checks for the table before its transaction
    commits). Such a loser finds the tables on its next try: each step of the schema (tables,
    version stamp) can be lost at most once.
    """
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for _ in range(SCHEMA_TRIES - 1):
        try:
            return rdb_storage(url)
        except (IntegrityError, ProgrammingError):
            pass  # another process created this part of the schema first
    return rdb_storage(url)


def rdb_storage(url: str) -> Any:
    import optuna

    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna since 2.9
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_options(url),
                                          heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S)


def describe_open_failure(exc: BaseException) -> str:
    """Optuna reports a missing database driver without naming it: name it, and how to get one."""
    cause = exc.__cause__
    if not (isinstance(exc, ImportError) and isinstance(cause, ImportError) and cause.name):
        return describe_exception(exc)
    hint = "; pip install 'psycopg[binary]'" if cause.name == POSTGRES_DRIVER else ""
    return f"its driver {cause.name} is not installed{hint}"


def mark_trial_owner(trial: Any) -> None:
    """Record which process runs a trial, so that its death can be noticed (fail_dead_trials)."""
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())


def fail_dead_trials(study: Any) -> tuple[int, ...]:
    """Mark failed the RUNNING trials whose process is gone: on this host by its pid, on any
    host by a stale heartbeat. Such a trial would otherwise hold its grid point forever."""
    import optuna
    from optuna.trial import TrialState

    host = socket.gethostname()
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in running:
        pid = trial.user_attrs.get("pid")
        if trial.user_attrs.get("host") == host and isinstance(pid, int) and not pid_alive(pid):
            try:
                study.tell(trial.number, state=TrialState.FAIL)
            except (ValueError, RuntimeError):
                pass  # another process finished or failed it first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    failed = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    return tuple(t.number for t in running if t.number in failed)
