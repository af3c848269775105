"""Physical constants and the micrometre <-> metre scaling, in one place.

Geometry is built and meshed in micrometres (Gmsh/OCC tolerances are ~1e-7, so
metre-sized models fail); all physics is in SI. :func:`mesh_to_si` is the only
conversion between the two and is applied once, when a mesh enters DOLFINx.
"""

from __future__ import annotations

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


def um(x: float) -> float:
    """Convert a length from micrometres to metres."""
    return x * MESH_UNIT


def to_um(x: float) -> float:
    """Convert a length from metres to micrometres."""
    return x / MESH_UNIT


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
