"""Atomic file writing: a result file is either the old complete one or the new one."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
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
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n"
    return atomic_write_bytes(path, text.encode())


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort; not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_dir(tmp: str | Path, final: str | Path) -> Path:
    """Put the complete folder ``tmp`` in place of ``final`` (renames; see :func:`recover_dir`).

    A directory cannot replace a non-empty one in one rename: the old folder is first
    renamed to ``<final>.old``, then ``tmp`` to ``final``, then the old one removed. A kill
    between the renames leaves ``<final>.old`` and ``tmp``, which :func:`recover_dir` sorts out.
    """
    tmp, final = Path(tmp), Path(final)
    old = final.with_name(f"{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    _fsync_dir(final.parent)
    shutil.rmtree(old, ignore_errors=True)
    return final


def recover_dir(final: str | Path, marker: str | None = None) -> None:
    """Undo a :func:`replace_dir` cut short: keep ``final``, else the complete new folder
    (``<final>.tmp`` holding ``marker``), else the old one; remove the leftovers."""
    final = Path(final)
    tmp, old = final.with_name(f"{final.name}.tmp"), final.with_name(f"{final.name}.old")
    if not final.exists():
        if marker is not None and (tmp / marker).is_file():
            tmp.rename(final)
        elif old.is_dir():
            old.rename(final)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


#: Temporary names left by writers killed mid-write (atomic files, PNGs, probes).
STALE_PATTERNS = (".*.tmp", ".*.tmp.png", ".femli-probe.*")


def clean_stale(folder: str | Path, dirs: dict[str, str | None] | None = None) -> list[Path]:
    """Remove temporary files of killed writers from ``folder`` and its direct subfolders,
    and recover the folders ``dirs`` (name -> completion marker) replaced with
    :func:`replace_dir`. Returns the files removed. Never touches anything else."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    places = [folder, *(p for p in folder.iterdir() if p.is_dir() and p.suffix != ".bp")]
    for place in places:
        for pattern in STALE_PATTERNS:
            for path in place.glob(pattern):
                if path.is_file():
                    path.unlink(missing_ok=True)
                    removed.append(path)
    for name, marker in (dirs or {}).items():
        recover_dir(folder / name, marker)
    return removed
