"""Atomic file writing: a result file is either the old complete one or the new one.

Every name written into an output folder is first recorded in the folder's manifest
(:mod:`femli.outputs.folder`), and everything here that deletes or replaces checks
the manifest first: femli deletes only what it wrote. A write that finds the disk full
removes its temporary file and raises :class:`NoSpaceError` (one line naming the folder
and the free space); :func:`require_space` checks before the writers that cannot fail
cleanly (ADIOS2 and HDF5 abort the process on a full disk).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from femli.outputs.disk import (
    NoSpaceError,
    free_bytes,
    full_error,
    is_full,
    megabytes,
    write_bytes_atomic,
)
from femli.outputs.folder import claim, of, own, owner

__all__ = [
    "MARGIN",
    "RESERVE",
    "atomic_write_bytes",
    "atomic_write_json",
    "clean_stale",
    "fresh_dir",
    "recover_dir",
    "replace_dir",
    "require_space",
    "save_picture",
    "staged",
]

#: Bytes kept free besides an estimated write (status, provenance, metrics, pictures).
RESERVE = 8 * 2**20
#: Factor on estimated sizes (metadata, format overheads).
MARGIN = 1.25


def require_space(folder: str | Path, need: float, what: str) -> None:
    """Raise :class:`NoSpaceError` unless ``folder`` has ``need`` bytes (times
    :data:`MARGIN`) plus :data:`RESERVE` free."""
    free = free_bytes(folder)
    if free < MARGIN * need + RESERVE:
        raise NoSpaceError(
            f"not enough free space in {folder}: {what} need about {megabytes(MARGIN * need)} "
            f"plus {megabytes(RESERVE)} kept in reserve, {megabytes(free)} free"
        )


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Record ``path`` in its folder's manifest, then write it atomically."""
    claim(path)
    return write_bytes_atomic(path, data)


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


@contextmanager
def staged(path: str | Path, suffix: str = ".tmp.png") -> Iterator[Path]:
    """A temporary name ``.<name><suffix>`` for a writer that takes a file name (a
    picture); renamed to ``path`` when the block ends, removed if it raises."""
    path = Path(path)
    claim(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if is_full(err):
            raise full_error(path) from None
        raise


def save_picture(figure: Any, path: str | Path) -> Path:
    """Write a matplotlib figure (``savefig``) or a PyVista plotter (``screenshot``) to
    ``path`` through :func:`staged`, and close it whatever happens."""
    path = Path(path)
    try:
        with staged(path) as tmp:
            if hasattr(figure, "screenshot"):
                figure.screenshot(str(tmp))
            else:
                figure.savefig(tmp)
    finally:
        if hasattr(figure, "screenshot"):
            figure.close()
        else:
            import matplotlib.pyplot as plt

            plt.close(figure)
    return path


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


def fresh_dir(folder: str | Path) -> Path:
    """An empty ``folder`` that femli may fill (a previous one femli wrote is removed;
    one it did not write raises :class:`FolderError`)."""
    folder = Path(folder)
    own(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def replace_dir(tmp: str | Path, final: str | Path) -> Path:
    """Put the complete folder ``tmp`` in place of ``final`` (renames; see :func:`recover_dir`).

    A directory cannot replace a non-empty one in one rename: the old folder is first
    renamed to ``<final>.old``, then ``tmp`` to ``final``, then the old one removed. A kill
    between the renames leaves ``<final>.old`` and ``tmp``, which :func:`recover_dir` sorts out.
    Raises :class:`FolderError` (before any rename) if femli did not write ``final``.
    """
    tmp, final = Path(tmp), Path(final)
    old = final.with_name(f"{final.name}.old")
    own(final)
    own(old)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    _fsync_dir(final.parent)
    shutil.rmtree(old, ignore_errors=True)
    return final


def recover_dir(final: str | Path, marker: str | None = None) -> None:
    """Undo a :func:`replace_dir` cut short: keep ``final``, else the complete new folder
    (``<final>.tmp`` holding ``marker``), else the old one; remove the leftovers. Only
    folders femli wrote are touched."""
    final = Path(final)
    tmp, old = final.with_name(f"{final.name}.tmp"), final.with_name(f"{final.name}.old")
    manifest = owner(final)
    if not final.exists():
        if marker is not None and manifest.lists(tmp) and (tmp / marker).is_file():
            claim(final)
            tmp.rename(final)
        elif manifest.lists(old) and old.is_dir():
            claim(final)
            old.rename(final)
    manifest.remove(tmp)
    manifest.remove(old)


def clean_stale(folder: str | Path, dirs: dict[str, str | None] | None = None) -> list[Path]:
    """Remove the temporary files killed writers left in ``folder`` (those of names its
    manifest lists), and recover the folders ``dirs`` (name -> completion marker)
    replaced with :func:`replace_dir`. Returns the files removed. Never touches
    anything femli did not write."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in list(of(folder).stale_temps()):
        path.unlink(missing_ok=True)
        removed.append(path)
    for name, marker in (dirs or {}).items():
        recover_dir(folder / name, marker)
    return removed
