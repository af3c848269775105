"""An output folder: one run at a time (a lock), and what femli wrote there (a manifest).

**What femli wrote**, ``.femli-manifest.json``: before femli creates a file or folder in
an output folder, it records the path (relative to the folder) in the folder's manifest,
written atomically; a path inside a recorded folder counts as recorded. Cleanup
(temporary files of a killed run, the previous run's status and checkpoint, leftovers of
an interrupted folder swap) only removes recorded paths, so a user's own files in the
folder are never deleted, and femli refuses to replace a file or folder it did not write
(:class:`FolderError`).

Recording is active inside :func:`tracking` (a run's rank 0 or a study's writer;
reentrant), for the folder given and everything below it; elsewhere :func:`claim`
records nothing and the deleting helpers read the manifest on disk. Only one process
writes a case folder's manifest (the folder lock, below); writers of one study folder
merge their records with the file on disk.

**One run per output folder**: an exclusive lock held for the whole run. The lock is
:func:`fcntl.flock` on ``<output>/.femli.lock``, which records the holder (host, process
id, start time, case, command). The operating system releases the lock when the holding
process ends, however it ends, so a lock file left behind by a killed run never blocks
the next one. A second run into a folder in use stops before touching anything with a
:class:`FolderBusyError` naming the folder and the holder (exit code 2). Under MPI, rank
0 of the run's communicator takes the lock; the outcome reaches every rank
(:func:`femli.parallel.on_root`).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mpi4py import MPI

from femli.outputs.disk import FolderError, write_bytes_atomic
from femli.parallel import on_root

__all__ = [
    "LOCK",
    "NAME",
    "FolderBusyError",
    "Manifest",
    "acquire",
    "adopt_legacy",
    "claim",
    "folder_lock",
    "of",
    "own",
    "owner",
    "refuse_foreign",
    "release",
    "remove",
    "tracking",
]

log = logging.getLogger(__name__)

NAME = ".femli-manifest.json"
#: Temporary names of femli's writers: ``.<name>.<random>.tmp`` (atomic files, the
#: random part from :func:`tempfile.mkstemp`) and ``.<name>.tmp.png`` (pictures).
_TEMP = re.compile(r"^\.(?P<name>.+?)(\.[a-z0-9_]{8}\.tmp|\.tmp\.png)$")
#: Names only femli uses (its own manifest's temporary files, the output probe of
#: :mod:`femli.case.preflight`): removable without a record.
_OWN_TEMPS = (f".{NAME}.*.tmp", ".femli-probe.*.tmp")


def _read(root: Path) -> set[str]:
    path = root / NAME
    if not path.is_file():
        return set()
    try:
        data = json.loads(path.read_text())
        return {str(p) for p in data["written"]}
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("%s is damaged (%s): treating the folder as not written by femli", path, err)
        return set()


class Manifest:
    """The recorded paths of one output folder ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.entries = _read(self.root)

    def relative(self, path: str | Path) -> str | None:
        """``path`` relative to the folder (POSIX), None outside it or for the folder."""
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(self.root))
        if rel == "." or rel == ".." or rel.startswith(".." + os.sep):
            return None
        return Path(rel).as_posix()

    def lists(self, path: str | Path) -> bool:
        """Whether femli recorded ``path`` or a folder holding it."""
        rel = self.relative(path)
        if rel is None:
            return False
        parts = rel.split("/")
        return any("/".join(parts[: k + 1]) in self.entries for k in range(len(parts)))

    def claim(self, path: str | Path) -> None:
        """Record ``path`` before it is created; :class:`FolderError` if it exists and
        femli did not write it."""
        rel = self.relative(path)
        if rel is None or self.lists(path):
            return
        if os.path.lexists(path):
            raise _foreign(self.root, [rel])
        self._save(self.entries | {rel}, merge=True)

    def remove(self, path: str | Path) -> bool:
        """Delete ``path`` (file or folder) if femli recorded it; returns whether it did."""
        path = Path(path)
        if not os.path.lexists(path) or not self.lists(path):
            return False
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return True

    def remove_all(self) -> None:
        """Delete everything recorded (a clean start) and forget it."""
        for rel in sorted(self.entries):
            self.remove(self.root / rel)
        self._save({r for r in self.entries if os.path.lexists(self.root / r)}, merge=False)

    def stale_temps(self) -> Iterator[Path]:
        """Temporary files of recorded names (left by writers that were killed)."""
        parents = {os.path.dirname(rel) for rel in self.entries}
        for parent in sorted(parents):
            folder = self.root / parent
            if not folder.is_dir():
                continue
            for item in folder.iterdir():
                match = _TEMP.match(item.name)
                if match is None or not item.is_file() or item.is_symlink():
                    continue
                if "/".join(filter(None, (parent, match["name"]))) in self.entries:
                    yield item
        for pattern in _OWN_TEMPS:
            yield from (p for p in self.root.glob(pattern) if p.is_file())

    def foreign(self, patterns: Iterable[str]) -> list[str]:
        """Existing paths matching the glob ``patterns`` that femli did not write."""
        found = {p for pattern in patterns for p in self.root.glob(pattern)}
        names = (self.relative(p) for p in found if not self.lists(p))
        return sorted(n for n in names if n is not None)  # None: the folder itself

    def _save(self, entries: set[str], merge: bool) -> None:
        """Write ``entries`` (merged with the file's: another writer of the same study
        folder may have added some), then keep them."""
        if merge:
            entries = entries | _read(self.root)
        data = {"about": "paths femli wrote in this folder", "written": sorted(entries)}
        write_bytes_atomic(self.root / NAME, (json.dumps(data, indent=1) + "\n").encode())
        self.entries = entries


def _foreign(root: Path, names: list[str]) -> FolderError:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return FolderError(
        f"output folder {root} holds {shown}, not written by femli (not in its {NAME}): "
        "move it away or choose another output folder"
    )


# -- the folders being written by this process -------------------------------------------
_ACTIVE: dict[str, list] = {}  # absolute folder -> [Manifest, nesting depth]


@contextmanager
def tracking(folder: str | Path, active: bool = True) -> Iterator[Manifest | None]:
    """Record every path written below ``folder`` in its manifest while the block runs
    (nothing when ``active`` is False, e.g. on ranks that write no shared files)."""
    if not active:
        yield None
        return
    key = os.path.abspath(folder)
    entry = _ACTIVE.setdefault(key, [None, 0])
    if entry[0] is None:
        entry[0] = Manifest(folder)
    entry[1] += 1
    try:
        yield entry[0]
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _ACTIVE[key]


def _active_for(path: str | Path) -> Manifest | None:
    target = os.path.abspath(path)
    roots = [k for k in _ACTIVE if target == k or target.startswith(k.rstrip(os.sep) + os.sep)]
    return _ACTIVE[max(roots, key=len)][0] if roots else None


def of(folder: str | Path) -> Manifest:
    """The manifest of ``folder`` (the one being recorded, else the file on disk)."""
    entry = _ACTIVE.get(os.path.abspath(folder))
    return entry[0] if entry else Manifest(folder)


def owner(path: str | Path) -> Manifest:
    """The manifest deciding about ``path``: the innermost folder being recorded that
    holds it, else the manifest on disk of the folder ``path`` is in."""
    return _active_for(path) or of(Path(path).parent)


def claim(path: str | Path) -> None:
    """Record ``path`` (about to be written) if a folder holding it is being recorded."""
    manifest = _active_for(path)
    if manifest is not None:
        manifest.claim(path)


def own(path: str | Path) -> None:
    """Make sure femli may write over or delete ``path``: record it, and raise
    :class:`FolderError` if it exists and femli did not write it."""
    manifest = owner(path)
    if _active_for(path) is not None:
        manifest.claim(path)
    elif os.path.lexists(path) and not manifest.lists(path):
        raise _foreign(manifest.root, [manifest.relative(path) or str(path)])


def remove(path: str | Path) -> bool:
    """Delete ``path`` if femli wrote it (see :meth:`Manifest.remove`)."""
    return owner(path).remove(path)


#: Keys of the ``provenance.json`` every femli run has written since before manifests.
_LEGACY_KEYS = ("femli", "software", "config_sha256", "exit_status")


def adopt_legacy(folder: str | Path, patterns: Iterable[str]) -> list[str]:
    """Record the paths matching ``patterns`` in a results folder of a femli version
    before manifests (no manifest, a ``provenance.json`` femli wrote); returns them.

    Such a folder holds femli's results under femli's names only: without this, every
    re-run into a folder of an earlier version would be refused. Rank 0, in a folder
    being recorded (:func:`tracking`).
    """
    manifest = of(folder)
    if manifest.entries or (manifest.root / NAME).exists():
        return []
    try:
        record = json.loads((manifest.root / "provenance.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(record, dict) or not all(k in record for k in _LEGACY_KEYS):
        return []
    found = manifest.foreign([*patterns, "provenance.json"])
    if found:
        manifest._save(set(found), merge=True)
        log.info("%s: results of an earlier femli (%s) adopted", manifest.root, record["femli"])
    return found


def refuse_foreign(folder: str | Path, patterns: Iterable[str]) -> None:
    """:class:`FolderError` naming the paths matching ``patterns`` that femli did not write."""
    manifest = of(folder)
    names = manifest.foreign(patterns)
    if names:
        raise _foreign(manifest.root, names)


LOCK = ".femli.lock"
#: flock not offered by the file system: run without a lock (with a warning).
_UNSUPPORTED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class FolderBusyError(FolderError):
    """Another run holds the output folder."""


def _holder(fd: int) -> str:
    """The holder recorded in an open lock file (it may be just being written)."""
    for _ in range(20):
        try:
            info = json.loads(os.pread(fd, 65536, 0).decode() or "null")
        except (OSError, ValueError):
            info = None
        if isinstance(info, dict):
            return (
                f"case {info.get('case')!r}, pid {info.get('pid')} on {info.get('host')}, "
                f"started {info.get('started')}"
            )
        time.sleep(0.05)
    return "holder not recorded"


def acquire(folder: str | Path, case: str) -> int | None:
    """Lock ``folder`` for this process; returns the lock's file descriptor (None where
    the file system has no locks). Raises :class:`FolderBusyError` if another run holds it."""
    path = Path(folder) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        holder = _holder(fd) if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else None
        os.close(fd)
        if holder is None and err.errno in _UNSUPPORTED:
            log.warning("%s: no file locks on this file system; not locked", folder)
            return None
        if holder is None:
            raise
        raise FolderBusyError(
            f"output folder {folder} is in use by another femli run ({holder}); "
            "wait for it to finish or choose another output folder"
        ) from None
    info = {
        "host": platform.node(),
        "pid": os.getpid(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "case": case,
        "command": " ".join(sys.argv),
    }
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
    except OSError:  # a full disk: the lock holds all the same
        log.warning("%s: could not record the holder", path)
    return fd


def release(fd: int | None) -> None:
    """Release a lock taken with :func:`acquire` (the file stays)."""
    if fd is not None:
        os.close(fd)


@contextmanager
def folder_lock(folder: str | Path, comm: MPI.Comm, case: str) -> Iterator[None]:
    """Hold the lock of ``folder`` (rank 0) while the block runs. Collective."""
    fd = on_root(comm, lambda: acquire(folder, case), share=False)
    try:
        yield
    finally:
        release(fd)
