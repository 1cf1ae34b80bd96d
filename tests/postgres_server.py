"""A throwaway PostgreSQL server for the tests and benchmarks of PostgreSQL study storages.

It lives in a temporary folder and listens only on a unix socket there, with trust
authentication; each ``database()`` is a new, empty database. It needs PostgreSQL's initdb and
pg_ctl (on the PATH, or Debian's /usr/lib/postgresql/<version>/bin) and the psycopg driver.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

SERVER_USER = "nobody"  # PostgreSQL refuses to run as root


class Unavailable(Exception):
    """Why no server can be started on this machine."""


class Postgres:
    def __init__(self, socket_dir: Path):
        self.socket_dir = socket_dir

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> Any:
        import psycopg

        return psycopg.connect(host=str(self.socket_dir), user="postgres", dbname=dbname, **kwargs)

    def database(self, *settings: str) -> str:
        """A new database's name; ``settings`` (SQL after ``ALTER DATABASE … SET``) apply to
        every later session on it."""
        name = "t" + uuid.uuid4().hex[:12]
        with self.connect(autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
            for setting in settings:
                admin.execute(f"ALTER DATABASE {name} SET {setting}")
        return name

    def url(self, name: str) -> str:
        """The study storage URL of database ``name``."""
        return f"postgresql://postgres@/{name}?host={self.socket_dir}"


def binaries() -> tuple[str, str]:
    for folder in [None, *sorted(glob.glob("/usr/lib/postgresql/*/bin"))]:
        initdb, pg_ctl = shutil.which("initdb", path=folder), shutil.which("pg_ctl", path=folder)
        if initdb and pg_ctl:
            return initdb, pg_ctl
    raise Unavailable("PostgreSQL's initdb and pg_ctl are not installed")


def server_user() -> dict[str, Any]:
    """subprocess arguments that run the server as SERVER_USER when this process is root."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise Unavailable(f"running as root, and there is no user {SERVER_USER!r} to run PostgreSQL as") from None
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@contextmanager
def throwaway_server() -> Iterator[Postgres]:
    try:
        import psycopg  # noqa: F401 - the tests' driver, and the one postgresql:// URLs take
    except ImportError:
        raise Unavailable("the PostgreSQL driver psycopg is not installed (pip install -e '.[postgres]')") from None
    initdb, pg_ctl = binaries()
    as_user = server_user()
    # A short path of its own: a unix socket's path is limited to about 100 characters, and the
    # server's user must reach it (pytest's temporary folders are open to their owner only).
    folder = Path(tempfile.mkdtemp(prefix="lorasent-pg-"))
    if as_user:
        os.chown(folder, as_user["user"], as_user["group"])
    data, log = folder / "data", folder / "server.log"
    run = {"cwd": folder, "capture_output": True, "text": True, **as_user}
    try:
        done = subprocess.run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"], **run)
        if done.returncode:
            raise Unavailable(f"initdb failed: {done.stderr.strip()[-300:]}")
        options = f"-k {folder} -c listen_addresses='' -c fsync=off"
        done = subprocess.run([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-o", options, "start"], **run)
        if done.returncode:
            raise Unavailable(f"the PostgreSQL server did not start: {log.read_text()[-300:]}")
        try:
            yield Postgres(folder)
        finally:
            subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], **run)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
