"""The bottom of :mod:`femli.outputs`: output-folder errors, free space and the plain
atomic writer. Imports nothing of femli, so :mod:`femli.outputs.folder` and
:mod:`femli.outputs.files` (which records names in the manifest first) both build on it.

A write that finds the disk full removes its temporary file and raises
:class:`NoSpaceError` (one line naming the folder and the free space).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "FolderError",
    "NoSpaceError",
    "free_bytes",
    "full_error",
    "is_full",
    "megabytes",
    "write_bytes_atomic",
]


class FolderError(OSError):
    """An output folder femli cannot use as asked (one line: the folder and why)."""


class NoSpaceError(FolderError):
    """Not enough free space for a write (checked before, or found by the write)."""


def free_bytes(folder: str | Path) -> int:
    """Free bytes for this user on the file system holding ``folder`` (or its parent)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def megabytes(n: float) -> str:
    """``n`` bytes as ``"<x.y> MB"`` (for messages)."""
    return f"{n / 1e6:.1f} MB"


def is_full(err: BaseException) -> bool:
    """Whether ``err`` is a full disk or an exceeded quota."""
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def full_error(path: str | Path) -> NoSpaceError:
    """The error for a write of ``path`` that found the disk full."""
    folder = Path(path).parent
    return NoSpaceError(
        f"not enough free space in {folder}: writing {Path(path).name} failed "
        f"(disk full, {megabytes(free_bytes(folder))} free)"
    )


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary ``.<name>.XXXX.tmp`` and a rename
    (nothing recorded; :func:`femli.outputs.files.atomic_write_bytes` records the name
    in the folder's manifest first)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if is_full(err):
            raise full_error(path) from None
        raise
    return path
