"""femli: finite-element models of lithium-metal electrodeposition.

Pipeline: geometry (Gmsh, um) -> mesh (:class:`Domain`, SI) -> physics
(:class:`CellModel`) -> solve (:class:`StationarySolver`) -> outputs.

The user API is importable from here::

    from mpi4py import MPI
    import femli

    domain, _ = femli.build_domain("box", MPI.COMM_WORLD, surface="asperities", count=2)
    electrolyte = femli.binary(1000.0, 5e-10, 5e-10)  # 1 M, D in m2/s

``import femli`` itself is cheap (the command line starts from it): each name below is
imported on first use (PEP 562), after ``dolfinx_solver``, which must come before
DOLFINx and petsc4py. A script that imports femli's submodules directly imports
``dolfinx_solver`` first itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The module that defines each public name, imported on first use.
_HOMES: dict[str, tuple[str, ...]] = {
    # mesh: a Gmsh model or .msh file -> Domain (mesh in m, named regions)
    "femli.mesh": ("Domain", "RegionError", "build_domain", "from_mesh", "read_msh"),
    "femli.geometry": ("GeometryError",),
    # physics: electrolyte, kinetics, boundary conditions, the model
    "femli.physics.electrolyte": ("Electrolyte", "RegionProperties", "Species", "binary"),
    "femli.physics.kinetics": ("ButlerVolmer", "Inert", "Linear", "Tafel"),
    "femli.physics.conditions": ("Bulk", "Electrode"),
    "femli.physics.interface": ("DoubleLayer", "Film", "Reaction"),
    "femli.physics.temperature": ("Arrhenius",),
    "femli.physics.model": ("CellModel", "ModelError"),
    # solvers and their options
    "femli.solve.stationary": ("StationaryOptions", "StationarySolver"),
    "femli.solve.transient": ("TransientOptions", "TransientSolver"),
    "femli.solve.newton": ("SolverError",),
    "femli.growth.solver": ("GrowthOptions", "GrowthSolver", "Metal"),
    # case files
    "femli.messages": ("ConfigError",),
    "femli.case.checks": ("load_case", "parse_case"),
    "femli.pipeline": ("run_case",),
}
_EXPORTS = {name: module for module, names in _HOMES.items() for name in names}

#: The public names: :data:`_HOMES`' and the type checkers' imports below.
__all__ = [
    "Arrhenius",
    "Bulk",
    "ButlerVolmer",
    "CellModel",
    "ConfigError",
    "Domain",
    "DoubleLayer",
    "Electrode",
    "Electrolyte",
    "Film",
    "GeometryError",
    "GrowthOptions",
    "GrowthSolver",
    "Inert",
    "Linear",
    "Metal",
    "ModelError",
    "Reaction",
    "RegionError",
    "RegionProperties",
    "SolverError",
    "Species",
    "StationaryOptions",
    "StationarySolver",
    "Tafel",
    "TransientOptions",
    "TransientSolver",
    "__version__",
    "binary",
    "build_domain",
    "from_mesh",
    "load_case",
    "parse_case",
    "read_msh",
    "run_case",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (``dolfinx_solver`` first)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'femli' has no attribute {name!r}")
    import dolfinx_solver  # noqa: F401  (must precede dolfinx and petsc4py)

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the same names for type checkers and editors
    from femli.case.checks import load_case, parse_case
    from femli.geometry import GeometryError
    from femli.growth.solver import GrowthOptions, GrowthSolver, Metal
    from femli.mesh import Domain, RegionError, build_domain, from_mesh, read_msh
    from femli.messages import ConfigError
    from femli.physics.conditions import Bulk, Electrode
    from femli.physics.electrolyte import Electrolyte, RegionProperties, Species, binary
    from femli.physics.interface import DoubleLayer, Film, Reaction
    from femli.physics.kinetics import ButlerVolmer, Inert, Linear, Tafel
    from femli.physics.model import CellModel, ModelError
    from femli.physics.temperature import Arrhenius
    from femli.pipeline import run_case
    from femli.solve.newton import SolverError
    from femli.solve.stationary import StationaryOptions, StationarySolver
    from femli.solve.transient import TransientOptions, TransientSolver
