"""Derived quantities of a solved cell model: electrode currents, fluxes, overpotentials.

Total electrode currents (the reactions' and a double layer's charging current: what
the electrode passes) are assembled from compiled forms made once; so are the currents
of each reaction and of the depositing ones (:meth:`ElectrodeCurrents.reactions`,
:meth:`ElectrodeCurrents.deposition`). Nodal normal
current densities on an electrode are the kinetic law evaluated at the boundary
nodes, or the variationally consistent boundary flux of the discrete solution when the
electrodes carry no kinetics (the primary model, where phi is a Dirichlet condition).
"""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from femli.physics.conditions import Electrode
from femli.physics.model import CellModel

__all__ = [
    "ElectrodeCurrents",
    "SurfaceValues",
]


@dataclass(slots=True)
class SurfaceValues:
    """Nodal values on an electrode (locally owned nodes of this rank).

    Attributes:
        values: normal current density of the depositing reactions, A/m^2 (anodic
            positive; the reaction current when a boundary has one reaction).
        weights: lumped boundary measure of each node (m^2 in 3D, m in 2D).
        coords: node coordinates in m.
        part: boundary name each node belongs to.
        overpotential: surface overpotential E_s - phi - E_eq at each node, V.
    """

    values: np.ndarray
    weights: np.ndarray
    coords: np.ndarray
    part: np.ndarray
    overpotential: np.ndarray


class ElectrodeCurrents:
    """Currents and nodal current densities on the electrodes of a model."""

    def __init__(self, model: CellModel) -> None:
        self.model = model
        self.domain = model.domain
        self._totals = {e.name: self._total_form(e) for e in model.electrodes}
        self._reaction_forms: dict[str, dict[str, dolfinx.fem.Form]] = {}
        self._deposition_forms: dict[str, dolfinx.fem.Form] = {}
        self._weight_form = None
        self._areas: dict[str, float] = {}
        self._surface_dofs: dict[str, np.ndarray] = {}
        self.refresh()

    def refresh(self) -> None:
        """Recompute areas and nodal weights after the mesh moved."""
        self._surface_dofs = {}
        self._areas = {e.name: self.domain.measure(*e.boundaries) for e in self.model.electrodes}
        self._weights = self._lumped_weights()

    def _indicator(self, electrode: Electrode) -> dolfinx.fem.Function:
        chi = dolfinx.fem.Function(self.model.space)
        fdim = self.domain.dim - 1
        dofs = dolfinx.fem.locate_dofs_topological(
            self.model.space, fdim, self.domain.facets(*electrode.boundaries)
        )
        chi.x.array[dofs] = 1.0
        return chi

    def _total_form(self, electrode: Electrode):
        if not self.model.transport.has_kinetics:
            chi = self._indicator(electrode)
            integrand = -ufl.inner(self.model.current_density(), ufl.grad(chi)) * self.domain.dx()
        else:
            integrand = sum(
                self.model.boundary_current(electrode, b) * self.domain.ds(b)
                for b in electrode.boundaries
            )
        return dolfinx.fem.form(integrand)

    def _lumped_weights(self) -> dolfinx.fem.Function:
        if getattr(self, "_weight_form", None) is None:
            v = ufl.TestFunction(self.model.space)
            names = [b for e in self.model.electrodes for b in e.boundaries]
            self._weight_form = dolfinx.fem.form(v * self.domain.ds(*names))
        weights = dolfinx.fem.Function(self.model.space)
        vec = dolfinx.fem.assemble_vector(self._weight_form)
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        weights.x.array[:] = vec.array
        weights.x.scatter_forward()
        return weights

    def area(self, electrode: Electrode) -> float:
        """Total electrode area (m^2; m per unit depth in 2D)."""
        return self._areas[electrode.name]

    def total(self, electrode: Electrode) -> float:
        """Total current (A; A/m per unit depth in 2D), anodic positive. Collective."""
        local = dolfinx.fem.assemble_scalar(self._totals[electrode.name])
        return self.domain.comm.allreduce(local, op=MPI.SUM)

    def reactions(self, electrode: Electrode) -> dict[str, float]:
        """Current of each reaction (A; A/m in 2D), by name (the reactions of one name on
        several boundaries added up); a double layer's charging current is not one of
        them (:meth:`total` includes it). Collective."""
        if not self.model.transport.has_kinetics:
            return {"main": self.total(electrode)}
        if electrode.name not in self._reaction_forms:
            self._reaction_forms[electrode.name] = self._reaction_integrals(electrode)
        comm = self.domain.comm
        return {
            name: comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)
            for name, form in self._reaction_forms[electrode.name].items()
        }

    def _reaction_integrals(self, electrode: Electrode) -> dict[str, dolfinx.fem.Form]:
        terms: dict[str, list] = {}
        interface = self.model.interface
        for b in electrode.boundaries:
            ds = self.domain.ds(b)
            for n, (reaction, i) in enumerate(interface.reaction_currents(electrode, b)):
                name = reaction.name or ("main" if n == 0 else f"side_{n}")
                terms.setdefault(name, []).append(i * ds)
        return {name: dolfinx.fem.form(sum(parts)) for name, parts in terms.items()}

    def deposition(self, electrode: Electrode) -> float:
        """Current of the depositing reactions (A; A/m in 2D). Collective."""
        if not self.model.transport.has_kinetics:
            return self.total(electrode)
        if electrode.name not in self._deposition_forms:
            current = self.model.deposition_current
            integrand = sum(current(electrode, b) * self.domain.ds(b) for b in electrode.boundaries)
            self._deposition_forms[electrode.name] = dolfinx.fem.form(integrand)
        local = dolfinx.fem.assemble_scalar(self._deposition_forms[electrode.name])
        return self.domain.comm.allreduce(local, op=MPI.SUM)

    def mean_density(self, electrode: Electrode) -> float:
        """Area-averaged current density (A/m^2). Collective."""
        return self.total(electrode) / self.area(electrode)

    def applied_density(self, electrode: Electrode) -> float:
        """Current over the area the applied density refers to (A/m^2). Collective."""
        return self.total(electrode) / (electrode.reference_area or self.area(electrode))

    def surface_minimum(self, electrode: Electrode) -> float:
        """Smallest reacting-species concentration (mol/m^3) on the electrode's nodes.

        The bulk value in models that do not solve it. Collective."""
        model = self.model
        reacting = model.electrolyte.reacting
        names = [s.name for s in model.species_unknowns]
        if reacting not in names:
            return float(model.electrolyte.reacting_species.concentration)
        if electrode.name not in self._surface_dofs:
            fdim = self.domain.dim - 1
            facets = self.domain.facets(*electrode.boundaries)
            self._surface_dofs[electrode.name] = dolfinx.fem.locate_dofs_topological(
                model.space, fdim, facets
            )
        dofs = self._surface_dofs[electrode.name]
        c = model.unknowns[names.index(reacting)].x.array
        local = float(c[dofs].min()) if dofs.size else np.inf
        return self.domain.comm.allreduce(local, op=MPI.MIN)

    def owned_dofs(self, electrode: Electrode) -> np.ndarray:
        """This rank's owned P1 dofs on the electrode, in the order of :meth:`nodal`'s
        arrays."""
        space = self.model.space
        dofs = dolfinx.fem.locate_dofs_topological(
            space, self.domain.dim - 1, self.domain.facets(*electrode.boundaries)
        )
        return dofs[dofs < space.dofmap.index_map.size_local]

    def nodal(self, electrode: Electrode) -> SurfaceValues:
        """Normal current density and overpotential at this rank's owned electrode nodes
        (:meth:`owned_dofs`); the expressions are evaluated on the cells touching the
        electrode only."""
        space = self.model.space
        fdim = self.domain.dim - 1
        out = dolfinx.fem.Function(space)
        parts = np.empty(out.x.array.size, dtype=object)
        for boundary in electrode.boundaries:
            dofs = dolfinx.fem.locate_dofs_topological(space, fdim, self.domain.facets(boundary))
            out.x.array[dofs] = self._boundary_values(electrode, boundary, dofs)
            parts[dofs] = boundary
        owned = self.owned_dofs(electrode)
        eta = self._interpolate(self.model.overpotential(electrode), *electrode.boundaries)
        return SurfaceValues(
            out.x.array[owned].copy(),
            self._weights.x.array[owned].copy(),
            space.tabulate_dof_coordinates()[owned],
            parts[owned],
            eta[owned],
        )

    def _interpolate(self, expr, *boundaries: str) -> np.ndarray:
        """``expr`` at the P1 nodes of the cells touching ``boundaries`` (every local dof;
        zero away from them)."""
        tdim = self.domain.dim
        topology = self.domain.mesh.topology
        topology.create_connectivity(tdim - 1, tdim)
        facets = self.domain.facets(*boundaries)
        cells = dolfinx.mesh.compute_incident_entities(topology, facets, tdim - 1, tdim)
        tmp = dolfinx.fem.Function(self.model.space)
        points = self.model.space.element.interpolation_points
        tmp.interpolate(dolfinx.fem.Expression(expr, points), cells0=cells.astype(np.int32))
        return tmp.x.array

    def _boundary_values(self, electrode: Electrode, boundary: str, dofs) -> np.ndarray:
        if not self.model.transport.has_kinetics:
            return self._consistent_flux(electrode)[dofs]
        return self._interpolate(self.model.deposition_current(electrode, boundary), boundary)[dofs]

    def _consistent_flux(self, electrode: Electrode) -> np.ndarray:
        """Nodal i_loc from the residual ``-int i . grad(v)`` over lumped boundary weights."""
        v = ufl.TestFunction(self.model.space)
        form = dolfinx.fem.form(
            -ufl.inner(self.model.current_density(), ufl.grad(v)) * self.domain.dx()
        )
        vec = dolfinx.fem.assemble_vector(form)
        vec.scatter_reverse(dolfinx.la.InsertMode.add)
        vec.scatter_forward()
        w = self._weights.x.array
        return np.divide(vec.array, w, out=np.zeros_like(w), where=w > 0)
