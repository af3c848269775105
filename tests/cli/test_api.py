"""The public API: ``import femli`` gives the user's names (imported on first use, after
``dolfinx_solver``), stays cheap for the command line, and the README's Python example
runs as printed."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mpi4py import MPI

import femli

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("dolfinx_solver", "mpi4py", "dolfinx", "petsc4py", "ufl", "gmsh", "pyvista")

serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: runs its own processes")


def fresh_python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``code`` in a new interpreter (nothing imported before it, unlike in pytest)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@serial
def test_import_femli_and_the_command_line_load_no_solver_library():
    code = "import sys, femli; a = set(sys.modules); import femli.cli; print(*a, '|', *sys.modules)"
    done = fresh_python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    package, cli = (set(part.split()) for part in done.stdout.split("|"))
    assert not package & set(HEAVY), sorted(package & set(HEAVY))
    solvers = set(HEAVY) - {"mpi4py"}  # femli.parallel (rank-0 printing) imports mpi4py
    assert not cli & solvers, sorted(cli & solvers)


@serial
def test_every_public_name_imports_in_a_fresh_interpreter():
    """No ``import dolfinx_solver`` before: femli imports it ahead of DOLFINx itself."""
    code = (
        "import femli\n"
        "names = [n for n in femli.__all__ if getattr(femli, n) is None]\n"
        "from femli import *\n"
        "print(names, CellModel.__name__, run_case.__module__)"
    )
    done = fresh_python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["[]", "CellModel", "femli.pipeline"]


def test_public_names_are_the_defining_objects():
    from femli.mesh import build_domain
    from femli.physics.model import CellModel
    from femli.solve.stationary import StationarySolver

    assert femli.build_domain is build_domain
    assert femli.CellModel is CellModel
    assert femli.StationarySolver is StationarySolver
    assert set(femli.__all__) <= set(dir(femli))
    with pytest.raises(AttributeError, match="has no attribute 'Stationary'"):
        femli.Stationary  # noqa: B018


def test_all_the_homes_and_the_type_checkers_imports_name_the_same():
    """``__all__``, ``_HOMES`` and the ``if TYPE_CHECKING:`` imports are three lists of
    the same names (and the same modules)."""
    tree = ast.parse((ROOT / "femli" / "__init__.py").read_text())
    (guard,) = [n for n in tree.body if isinstance(n, ast.If)]
    typed = {a.name: node.module for node in guard.body for a in node.names}
    assert typed == femli._EXPORTS
    assert set(femli.__all__) == {"__version__", *femli._EXPORTS}


def readme_python_api() -> str:
    """The code block of the README's "Python API" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Python API section holds one python code block"
    return blocks[0]


@serial
def test_the_readme_python_example_runs(tmp_path):
    code = readme_python_api()
    imports = [line for line in code.splitlines() if re.match(r"(from|import) ", line)]
    assert [line for line in imports if "femli" in line] == imports[-1:]  # one femli import
    assert "dolfinx_solver" not in code
    done = fresh_python(code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    current = float(done.stdout.split()[-1])  # A/m2; the electrode at -0.02 V deposits
    assert -1e4 < current < 0
