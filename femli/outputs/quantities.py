"""The quantities in femli's field files and pictures: array names with their units, the
unit of current density shown to users (mA/cm^2) and the sign convention, in one place.
"""

from __future__ import annotations

from typing import Any

import dolfinx
import numpy as np

from femli.cover import covering_cells
from femli.units import ma_per_cm2

__all__ = [
    "AXISYMMETRIC",
    "CURRENT",
    "DEPOSITION",
    "OVERPOTENTIAL",
    "PHI",
    "SIGN_CONVENTION",
    "VELOCITY",
    "concentration_name",
    "flux_name",
    "ma_cm2",
    "p1_values",
]

#: Point and cell array of the electrolyte current density vector, mA/cm^2.
CURRENT = "current_density (mA/cm2)"
#: Point array of the electric potential in the electrolyte, V.
PHI = "phi (V)"
#: Point array of the deposition current density on an electrode, mA/cm^2.
DEPOSITION = "deposition_current_density (mA/cm2)"
#: Point array of the surface overpotential, V.
OVERPOTENTIAL = "overpotential (V)"
#: Point array of the normal growth velocity, um/s (growth positive).
VELOCITY = "normal_velocity (um/s)"
#: The sign convention, stated once (also in each surface file's field data).
SIGN_CONVENTION = (
    "deposition current density = -(anodic-positive normal current density): "
    "positive where metal deposits, negative where it dissolves"
)

#: Field data ``axisymmetric`` of the files of r-z runs: what the coordinates mean.
AXISYMMETRIC = "x = r, y = z (um): the r-z half plane of a body of revolution about the y axis"


def concentration_name(species: str) -> str:
    """Array name of a species' concentration (mol/m^3)."""
    return f"c_{species} (mol/m3)"


def flux_name(species: str) -> str:
    """Array name of a species' molar flux vector (mol/(m^2 s))."""
    return f"flux_{species} (mol/m2/s)"


def ma_cm2(a_m2: Any) -> Any:
    """A current density in A/m^2 converted to mA/cm^2 (numbers or arrays)."""
    return a_m2 / ma_per_cm2(1.0)


def p1_values(expr, space) -> np.ndarray:
    """A scalar UFL expression interpolated into the P1 ``space``: every local dof,
    evaluated on :func:`~femli.cover.covering_cells` only (each node once or a few times
    instead of in each of its ~23 tetrahedra)."""
    f = dolfinx.fem.Function(space)
    compiled = dolfinx.fem.Expression(expr, space.element.interpolation_points)
    f.interpolate(compiled, cells0=covering_cells(space))
    return f.x.array.real.copy()
