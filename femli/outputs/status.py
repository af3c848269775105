"""The state of a result folder: ``provenance.json`` always, ``status.json`` when a run
did not complete.

``provenance.json`` is written when a run starts (``exit_status`` "running") and again
when it ends ("completed", "failed" or "interrupted"): femli version, git commit,
DOLFINx / PETSc / Gmsh / MPI / Python versions, MPI size, host, command line, case name,
configuration hash, start and end times (UTC), the checkpoint time a restart continued
from, and for a failure the error and how far the run got. A run killed outright
(SIGKILL) leaves "running"; ``femli run --restart`` or a new run replaces it.

``status.json`` exists only after a failed or interrupted run (removed when the next
run in the folder starts): ``status``, ``error``, and ``t_reached`` (transient,
growth) or ``load_reached`` (stationary: fraction of the applied driving force), with
the last converged state saved next to it. ``metrics.json`` stays the marker of a
completed run: ``provenance.json`` is marked completed just before it is written, so a
kill in between leaves a run that is redone (no metrics), never a finished run
recorded as running.

Only rank 0 writes; nothing here is collective, so it is safe on an interrupt.

What produced a result: software versions, MPI size, git commit, timestamps.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from mpi4py import MPI

from femli.outputs.files import atomic_write_json
from femli.outputs.folder import remove

__all__ = [
    "RunStatus",
    "femli_version",
    "git_commit",
    "now",
    "provenance",
    "software_versions",
    "solver_packages",
]

log = logging.getLogger(__name__)


def now() -> str:
    """The present UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def provenance(config, comm: MPI.Comm) -> dict:
    """What produced a result: software, MPI size, host, command, case and its hash."""
    versions = software_versions()
    return {
        "femli": versions["femli"],
        "git_commit": git_commit(),
        "software": versions,
        "mpi_size": comm.size,
        "host": platform.node(),
        "command": " ".join(sys.argv),
        "case": config.name,
        "config_sha256": config.digest(),
    }


class RunStatus:
    """Writes ``provenance.json`` / ``status.json`` of one run into ``output`` (rank 0)."""

    def __init__(self, output: Path, config, comm: MPI.Comm) -> None:
        self.output, self.comm = Path(output), comm
        self.started = now()
        self.details: dict = {}
        self.record = provenance(config, comm) if comm.rank == 0 else {}
        self.record.update(started=self.started, finished=None, exit_status="running")

    def start(self, restarted_from: float | None = None) -> None:
        """Mark the folder as holding a run in progress (removes a stale status.json)."""
        if self.comm.rank != 0:
            return
        remove(self.output / "status.json")
        self.record["restarted_from_t"] = restarted_from
        atomic_write_json(self.output / "provenance.json", self.record)

    def finish(self, status: str, error: str | None = None) -> None:
        """Record the end: ``completed``, ``failed`` or ``interrupted`` (with the error).

        A failed or interrupted end is recorded as well as it can be: a write that fails
        (a full disk) is logged and does not replace the run's own error."""
        if self.comm.rank != 0:
            return
        if status == "completed":
            self._write(status, error)
            return
        try:
            self._write(status, error)
        except OSError as err:
            log.info("%s: the run's end not recorded: %s", self.output, err)

    def _write(self, status: str, error: str | None) -> None:
        self.record.update(finished=now(), exit_status=status, error=error, **self.details)
        atomic_write_json(self.output / "provenance.json", self.record)
        if status != "completed":
            atomic_write_json(
                self.output / "status.json",
                {
                    "status": status,
                    "error": error,
                    **self.details,
                    "case": self.record["case"],
                    "config_sha256": self.record["config_sha256"],
                    "mpi_size": self.comm.size,
                    "started": self.started,
                    "finished": self.record["finished"],
                },
            )


def femli_version() -> str:
    """femli's version, from the installed package's metadata (pyproject takes it from
    ``femli.__version__``); "unknown" for sources run without installing."""
    try:
        return metadata.version("femli")
    except metadata.PackageNotFoundError:
        return "unknown"


def software_versions() -> dict[str, str]:
    """Versions of femli and its numerical stack."""
    import dolfinx
    import gmsh
    from petsc4py import PETSc

    petsc = ".".join(str(v) for v in PETSc.Sys.getVersion())
    return {
        "femli": femli_version(),
        "dolfinx": dolfinx.__version__,
        "petsc": petsc,
        "gmsh": gmsh.__version__,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "python": platform.python_version(),
    }


def git_commit(root: Path | None = None) -> str | None:
    """The femli source tree's commit (``root``: the tree, femli's own by default): the
    git checkout's, else ``$FEMLI_GIT_COMMIT`` (recorded when an image is built:
    ``docker build --build-arg GIT_COMMIT=...``, see ``make docker``)."""
    root = Path(__file__).resolve().parents[2] if root is None else Path(root)
    recorded = os.environ.get("FEMLI_GIT_COMMIT", "").strip() or None
    if not (root / ".git").exists():  # an installed package or an image
        return recorded
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return recorded
    return out.stdout.strip() or recorded


def solver_packages() -> dict[str, bool]:
    """Which PETSc solver packages this build has."""
    from petsc4py import PETSc

    names = ("mumps", "superlu_dist", "hypre", "ml")
    return {n: bool(PETSc.Sys.hasExternalPackage(n)) for n in names}
