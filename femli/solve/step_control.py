"""The electrode control of one time step of :class:`~femli.solve.transient.TransientSolver`.

:class:`StepControl` is the stationary strategy (continuation in the applied driving
force, Broyden iteration on galvanostatic electrode potentials) with one plain Newton
solve per state. :class:`ChargeBalance` is the view of a model that the start of a march
solves: the potential alone, with the concentrations frozen.
"""

from __future__ import annotations

import numpy as np

from femli.physics.model import CellModel
from femli.solve.stationary import StationarySolver

__all__ = ["ChargeBalance", "StepControl"]


class ChargeBalance:
    """The charge-balance row alone over ``phi`` (with the film row over the film drop,
    when there is a film), concentrations as fixed coefficients.

    A view of a :class:`CellModel` with the attributes :class:`Newton` reads.
    """

    def __init__(self, model: CellModel) -> None:
        self.cell_model = model
        self.domain = model.domain
        first = len(model.species_unknowns)  # the potentials: the film drop (if any), phi
        self.residual = model.residual[first:]
        self.unknowns = model.unknowns[first:]
        spaces = [u.function_space._cpp_object for u in self.unknowns]
        self.bcs = [bc for bc in model.bcs if bc.function_space in spaces]
        self._space = model.space

    def unknown_scales(self) -> list[float]:
        """The potentials' scale, RT/F (V)."""
        return self.cell_model.unknown_scales()[len(self.cell_model.species_unknowns) :]

    def num_dofs(self) -> int:
        """Global number of potential unknowns."""
        return self._space.dofmap.index_map.size_global * len(self.unknowns)


class StepControl(StationarySolver):
    """The stationary strategy with one plain Newton solve per state (a time step).

    The galvanostatic Jacobian (A/m^2 per V) is kept between steps (Broyden updates it in
    place), which saves the finite-difference solves; ``reset_jacobian`` drops it after a
    failure.
    """

    jacobian: np.ndarray | None = None

    def solve_state(self) -> bool:
        return self.newton.solve()

    def _fd_jacobian(self, es, e_vec, r, load):
        if self.jacobian is None:
            self.jacobian = super()._fd_jacobian(es, e_vec, r, load)
        return self.jacobian

    def reset_jacobian(self) -> None:
        self.jacobian = None

    def solve_or_ramp(self) -> bool:
        """The state at the full driving force: directly, else by continuation from the
        present state (not from rest). Collective."""
        return self.solve_at(1.0) or self._continuation(reset=False)
