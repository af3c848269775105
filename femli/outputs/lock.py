"""One run per output folder: an exclusive lock held for the whole run.

The lock is :func:`fcntl.flock` on ``<output>/.femli.lock``, which records the holder
(host, process id, start time, case, command). The operating system releases the lock
when the holding process ends, however it ends, so a lock file left behind by a killed
run never blocks the next one. A second run into a folder in use stops before touching
anything with a :class:`FolderBusyError` naming the folder and the holder (exit code 2).
Under MPI, rank 0 of the run's communicator takes the lock; the outcome reaches every
rank (:func:`femli.parallel.on_root`).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mpi4py import MPI

from femli.outputs.disk import FolderError
from femli.outputs.status import now
from femli.parallel import on_root

log = logging.getLogger(__name__)

NAME = ".femli.lock"
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
    path = Path(folder) / NAME
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
        "started": now(),
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
