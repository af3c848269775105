"""Physical constants and the micrometre <-> metre scaling, in one place.

Geometry is built and meshed in micrometres (Gmsh/OCC tolerances are ~1e-7, so
metre-sized models fail); all physics is in SI. Every crossing between the two scales
by :data:`MESH_UNIT`, through :func:`um` (um -> m) and :func:`to_um` (m -> um): a mesh
once, when it enters DOLFINx (:mod:`femli.mesh`, whose length unit it is), the case's
``[growth]`` lengths once, when the case is built (:mod:`femli.case.build`), and SI
results back to um wherever Gmsh or a table, picture or message wants micrometres.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FARADAY",
    "GAS_CONSTANT",
    "LI_DENSITY",
    "LI_MOLAR_MASS",
    "MESH_UNIT",
    "T_DEFAULT",
    "deposition_velocity",
    "ma_per_cm2",
    "mol_per_litre",
    "thermal_voltage",
    "to_um",
    "um",
]

FARADAY = 96485.33212  # C/mol
GAS_CONSTANT = 8.314462618  # J/(mol K)
T_DEFAULT = 298.15  # K

#: Length of one mesh unit in metres (meshes are in micrometres).
MESH_UNIT = 1.0e-6

#: Lithium metal: molar mass (kg/mol) and density (kg/m^3).
LI_MOLAR_MASS = 6.94e-3
LI_DENSITY = 534.0


def thermal_voltage(temperature: float = T_DEFAULT) -> float:
    """RT/F in volts at ``temperature`` (K)."""
    return GAS_CONSTANT * temperature / FARADAY


def um[Length: (float, np.ndarray)](x: Length, power: int = 1) -> Length:
    """Convert a length from micrometres to metres (``power`` 2: an area um^2 -> m^2, 3: a
    volume um^3 -> m^3); numbers or arrays."""
    return x * MESH_UNIT**power


def to_um[Length: (float, np.ndarray)](x: Length, power: int = 1) -> Length:
    """Convert a length from metres to micrometres (``power`` 2: an area m^2 -> um^2, 3: a
    volume m^3 -> um^3); numbers or arrays."""
    return x / MESH_UNIT**power


def mol_per_litre(c: float) -> float:
    """Convert a concentration from mol/L (M) to mol/m^3."""
    return c * 1.0e3


def ma_per_cm2(i: float) -> float:
    """Convert a current density from mA/cm^2 to A/m^2."""
    return i * 10.0


def deposition_velocity(
    current_density: float,
    molar_mass: float = LI_MOLAR_MASS,
    density: float = LI_DENSITY,
    charge_number: int = 1,
) -> float:
    """Normal growth velocity (m/s) of a dense metal deposit at ``current_density`` (A/m^2).

    v = i M / (z F rho); positive for cathodic (depositing) current.
    """
    return current_density * molar_mass / (charge_number * FARADAY * density)
