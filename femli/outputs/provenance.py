"""What produced a result: software versions, MPI size, git commit, timestamps."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from mpi4py import MPI


def software_versions() -> dict[str, str]:
    """Versions of femli and its numerical stack."""
    import dolfinx
    import gmsh
    from petsc4py import PETSc

    import femli

    petsc = ".".join(str(v) for v in PETSc.Sys.getVersion())
    return {
        "femli": femli.__version__,
        "dolfinx": dolfinx.__version__,
        "petsc": petsc,
        "gmsh": gmsh.__version__,
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "python": platform.python_version(),
    }


def git_commit() -> str | None:
    """The femli source tree's commit, when it is a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def solver_packages() -> dict[str, bool]:
    """Which PETSc solver packages this build has."""
    from petsc4py import PETSc

    names = ("mumps", "superlu_dist", "hypre", "ml")
    return {n: bool(PETSc.Sys.hasExternalPackage(n)) for n in names}
