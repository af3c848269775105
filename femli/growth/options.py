"""Controls of a growth run: the deposit material and :class:`GrowthOptions` (SI: times
in s, lengths in m). Used by :class:`femli.growth.solver.GrowthSolver`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from femli.solve.bdf import TransientOptions
from femli.solve.stationary import StationaryOptions
from femli.units import FARADAY, LI_DENSITY, LI_MOLAR_MASS

__all__ = ["GrowthOptions", "Metal"]


@dataclass(slots=True, frozen=True)
class Metal:
    """A deposit material: molar mass (kg/mol), density (kg/m^3), charge number."""

    molar_mass: float = LI_MOLAR_MASS
    density: float = LI_DENSITY
    charge: int = 1

    def __post_init__(self) -> None:
        if not (self.molar_mass > 0 and self.density > 0 and self.charge > 0):
            raise ValueError("metal molar_mass, density and charge must be > 0")

    @property
    def volume_per_charge(self) -> float:
        """m^3 of metal per coulomb: M / (z F rho)."""
        return self.molar_mass / (self.charge * FARADAY * self.density)


@dataclass(slots=True)
class GrowthOptions:
    """Controls of a growth run (times in s, lengths in m).

    Args:
        t_end: final time.
        max_displacement: largest boundary displacement per step.
        dt_max: largest step.
        min_quality: remesh (or stop, without a remesh hook) below this cell quality
            (after a remesh that gave less than half of it: below half of what it gave).
        metals: boundary name -> :class:`Metal` (default Li everywhere).
        max_cuts: step halvings after an inverted mesh.
        max_solve_cuts: step halvings after a failed solve on the moved shape (each
            retry costs a full stationary solve with its recoveries; a solve that still
            fails at dt/8 usually fails for another reason than the step, e.g. a
            current beyond the limiting current).
        snapshots: times (s) the steps land on exactly (records get ``snapshot``).
        stationary: controls of the quasi-stationary solves.
        transient: BDF controls: the electrochemistry advances in time with the
            concentration carried between steps (:mod:`femli.growth.chemistry`); None:
            quasi-stationary.
        merge_gap: deposits closer than this fuse (:mod:`femli.growth.merge`; 3D through
            a level-set rebuild, :mod:`femli.growth.rebuild`): the electrolyte they
            enclose is dropped and counted as trapped; None: no merging
            (the mesh stops following where they meet).
        refinement: the geometry builder's refinement (1 for a mesh file): a remesh
            grades its element sizes over the builder's distances.
    """

    t_end: float
    max_displacement: float = 20e-9
    dt_max: float = np.inf
    min_quality: float = 0.2
    metals: dict[str, Metal] = field(default_factory=dict)
    max_cuts: int = 6
    max_solve_cuts: int = 3
    snapshots: tuple[float, ...] = ()
    stationary: StationaryOptions = field(default_factory=StationaryOptions)
    transient: TransientOptions | None = None
    merge_gap: float | None = None
    refinement: float = 1.0

    def __post_init__(self) -> None:
        if not self.t_end > 0:
            raise ValueError(f"t_end must be > 0 s, got {self.t_end}")
        if not self.max_displacement > 0:
            raise ValueError("max_displacement must be > 0 m")
        if not 0 < self.min_quality < 1:
            raise ValueError("min_quality must be in (0, 1)")
        if self.merge_gap is not None and not self.merge_gap > 0:
            raise ValueError(f"merge_gap must be > 0 m or None, got {self.merge_gap}")
        if not self.refinement > 0:
            raise ValueError(f"refinement must be > 0, got {self.refinement}")
