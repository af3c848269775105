"""Is a converged state a result? Finite values, non-negative concentrations, closed balances.

A Newton solve that stops is not yet a solution of the physics: :class:`StateCheck`
looks at the state with physical eyes before anyone reads it.

- **Finite**: every unknown is a number.
- **Concentrations** are non-negative within :data:`CONCENTRATION_TOL` of each species' bulk
  value (every species that varies: the solved ones, and one eliminated by
  electroneutrality, see :meth:`~femli.physics.transport.Transport.nodal_concentrations`).
- **Balances**: each solved equation, tested with ``v = 1``, is the balance of its
  quantity: what enters through the Dirichlet (bulk) boundaries, what the electrodes
  produce or consume and what is stored must add up. The Dirichlet inflow is the
  variationally consistent boundary flux (the residual's entries on the constrained
  nodes), so the balance defect is the sum of the residual over the free nodes. It must
  be below :data:`BALANCE_TOL` times the quantity's throughput: the Dirichlet fluxes
  (their magnitudes, node by node) plus the electrode currents (all in the residual's
  scaling), with a floor of 1e-9 of the diffusion-limited current ``F D c / L`` over the
  electrode area for a cell at rest.

The galvanostatic current is the stationary driver's check
(:meth:`~femli.solve.stationary.StationarySolver.solve`), not this one's: Newton solves
at a given electrode potential.
"""

from __future__ import annotations

from collections.abc import Sequence

import dolfinx
import numpy as np
from mpi4py import MPI

from femli.units import FARADAY

__all__ = ["BALANCE_TOL", "CONCENTRATION_TOL", "StateCheck"]

#: Most negative concentration accepted, as a share of the species' bulk value.
CONCENTRATION_TOL = 1.0e-6

#: Largest balance defect accepted, as a share of the quantity's throughput.
BALANCE_TOL = 1.0e-6

#: Floor of the throughput: this share of the diffusion-limited current over the electrodes.
REST_FLOOR = 1.0e-9


class StateCheck:
    """Admissibility of the state of ``model`` for the equations a Newton solves.

    Args:
        model: the :class:`~femli.physics.model.CellModel` (for the species and the
            electrode currents).
        forms: the compiled residual forms of the solved equations, in order.
        unknowns: the solved unknowns, one per form (``c_<species>`` or ``phi``).
        bcs: the Dirichlet conditions of the solve.
    """

    def __init__(self, model, forms: Sequence, unknowns: Sequence, bcs: Sequence) -> None:
        self.model, self.forms, self.unknowns = model, list(forms), list(unknowns)
        self._dirichlet = [self._constrained(u, bcs) for u in self.unknowns]
        self._currents = (
            []
            if not model.transport.has_kinetics
            else [
                dolfinx.fem.form(
                    sum(model.local_current(e, b) * model.domain.ds(b) for b in e.boundaries)
                )
                for e in model.electrodes
            ]
        )
        self._floor = self._rest_floor()

    def _constrained(self, u, bcs) -> np.ndarray:
        """This rank's owned Dirichlet dofs of unknown ``u``."""
        space = u.function_space
        owned = space.dofmap.index_map.size_local * space.dofmap.index_map_bs
        dofs = [bc.dof_indices()[0] for bc in bcs if bc.function_space == space._cpp_object]
        if not dofs:
            return np.zeros(0, dtype=np.int32)
        dofs = np.unique(np.concatenate(dofs))
        return dofs[dofs < owned]

    def _rest_floor(self) -> float:
        """Throughput floor (residual units): 1e-9 x F D c / L over the electrode area."""
        model = self.model
        area = sum(model.domain.measure(*e.boundaries) for e in model.electrodes)
        length = model.domain.measure(boundary=False) ** (1.0 / model.domain.dim)
        d = max(s.diffusivity for s in model.electrolyte.species)
        c = model.electrolyte.reacting_species.concentration
        return REST_FLOOR * model.residual_scale * d * c * area / length

    def __call__(self) -> str | None:
        """None if the state is admissible, else what is wrong (one phrase). Collective."""
        comm = self.model.domain.comm
        finite = all(np.isfinite(u.x.array).all() for u in self.unknowns)
        if not comm.allreduce(finite, op=MPI.LAND):
            return "the solution holds non-finite values"
        problem = self._negative_concentration()
        return problem if problem is not None else self._open_balance()

    def concentration_minima(self) -> dict[str, float]:
        """Smallest nodal concentration of each species (mol/m^3) over all ranks."""
        model, comm = self.model, self.model.domain.comm
        arrays = model.transport.nodal_concentrations(model)
        return {
            name: comm.allreduce(float(a.min(initial=np.inf)), op=MPI.MIN)
            for name, a in arrays.items()
        }

    def _negative_concentration(self) -> str | None:
        if not any(u.name.startswith("c_") for u in self.unknowns):
            return None  # the concentrations are not solved here
        electrolyte = self.model.electrolyte
        for name, low in self.concentration_minima().items():
            bulk = electrolyte.species_named(name).concentration
            if low < -CONCENTRATION_TOL * bulk:
                return f"the {name} concentration is negative (min {low:.4g} mol/m^3)"
        return None

    def defects(self) -> list[tuple[str, float, float]]:
        """(unknown name, balance defect, throughput) of each solved equation. Collective."""
        comm = self.model.domain.comm
        currents = sum(
            abs(comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM)) for f in self._currents
        )
        electrodes = self.model.residual_scale * currents / FARADAY
        out = []
        for form, u, fixed in zip(self.forms, self.unknowns, self._dirichlet, strict=True):
            vec = dolfinx.fem.assemble_vector(form)
            vec.scatter_reverse(dolfinx.la.InsertMode.add)
            owned = u.function_space.dofmap.index_map.size_local
            values = vec.array[:owned]
            local = (float(values.sum() - values[fixed].sum()), float(np.abs(values[fixed]).sum()))
            defect, inflow = comm.allreduce(np.array(local), op=MPI.SUM)
            out.append((u.name, float(defect), float(inflow) + electrodes + self._floor))
        return out

    def closed(self) -> bool:
        """Whether every balance closes (the convergence test's question). Collective."""
        return self._open_balance() is None

    def _open_balance(self) -> str | None:
        for name, defect, throughput in self.defects():
            if abs(defect) > BALANCE_TOL * throughput:
                what = "charge" if name == "phi" else f"{name[2:]} species"
                return (
                    f"the {what} balance does not close (defect {abs(defect) / throughput:.2g} "
                    "of the throughput)"
                )
        return None
