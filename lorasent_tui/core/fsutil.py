"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process umask, read without changing it (``os.umask`` would race other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def atomic_write(path: Path, write: Callable[[Any], None], exclusive: bool = False) -> None:
    """Replace ``path`` whole with what ``write(binary_handle)`` writes; ``exclusive``: create
    it, raising FileExistsError if a file is there by the time it is written (a hard link
    publishes it, which never replaces; where links are not supported, a last check does).

    Its folder must exist: a write never re-creates a deleted run.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would hide runs from the rest of a team
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            _publish_new(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _publish_new(tmp: str, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network and FUSE file systems)
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with open(Path(folder) / name, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(Path(folder))


def atomic_replace_dir(staging: Path, target: Path) -> None:
    """Move a fully written ``staging`` folder to ``target``, replacing any previous one.

    Between the two renames the previous folder survives as ``<target>.old``; readers
    fall back to it (see ``resolve_dir``), so there is no moment without a complete copy.
    """
    staging, target = Path(staging), Path(target)
    fsync_tree(staging)
    old = target.with_name(target.name + ".old")
    if target.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    # else: a crash between the two renames left only <target>.old, the last complete copy;
    # it is kept until the new copy is in place.
    os.replace(staging, target)
    fsync_dir(target.parent)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _share(folder: Path) -> None:
    """Give a staged folder the modes of ordinary files and folders: mkdtemp makes it 0700, and
    some writers (tokenizers, safetensors) use 0600 temporary files; runs are shared by a team."""
    umask = current_umask()
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


@contextmanager
def staged_dir(target: Path) -> Iterator[Path]:
    """Write the folder ``target`` whole: ``with staged_dir(target) as staging:`` write into
    ``staging``; when the block ends without an error the staging folder is fsynced and renamed
    over ``target`` (``atomic_replace_dir``), otherwise it is removed.

    Staging folders of ``target`` that a crash left behind are removed first: a target has one
    writer, and each leftover may be as large as the folder itself.
    """
    target = Path(target)
    prefix = f".{target.name}-staging-"
    for stale in target.parent.glob(glob.escape(prefix) + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        yield staging
        _share(staging)
        atomic_replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def resolve_dir(target: Path) -> Path | None:
    """The complete copy of a folder written with ``atomic_replace_dir``, if any."""
    target = Path(target)
    if target.is_dir():
        return target
    old = target.with_name(target.name + ".old")
    return old if old.is_dir() else None
