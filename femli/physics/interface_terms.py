"""The UFL terms of a cell model's electrode interfaces: reactions, double layer, films.

:class:`InterfaceTerms` is built by :class:`~femli.physics.model.CellModel` and gives it
every electrode current and source (the notation is :mod:`femli.physics.interface`'s):

- the reaction currents ``i_k = law_k(delta - E_eq,k, f, c/c_ref)`` (A/m^2) with the
  interfacial potential difference ``delta = E_s - phi - u`` (V);
- the charging current ``C_dl (rate delta + history)`` of a double layer, whose BDF
  coefficients (:attr:`dl_rate`, 1/s, and :attr:`dl_history`, V/s) a transient solver
  sets (:meth:`set_time_terms`); both are zero in a steady state;
- the interface current ``i_int`` (reactions plus charging), which enters the charge
  balance, and each species' production ``sum_k s_k,j i_k / F`` (mol/(m^2 s));
- with films, the film row ``(u / R_film - i_int) / F = 0`` on the film boundaries'
  nodes, ``u`` the film drop (V, an unknown of the model that is zero, by a Dirichlet
  condition, at every node not on a film boundary). Written in current units, the row
  is the balance of the current through the film, so the acceptance check's balance
  test applies to it as to the others.

A film that grows with the passed charge uses ``R = R_0 + growth (q_n + h |i_int|)``
in the step ``t_n -> t_n + h``: the charge density ``q`` (C/m^2, the P1 field
:attr:`film_charge`) is advanced implicitly (backward Euler, exact for a constant
current) and stored after each accepted step (:meth:`accept_step`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dolfinx
import numpy as np
import ufl
from dolfinx import default_scalar_type as scalar
from scipy.spatial import cKDTree
from ufl.core.expr import Expr

from femli.physics.conditions import Electrode
from femli.physics.interface import Film, Reaction
from femli.units import FARADAY

if TYPE_CHECKING:
    from femli.physics.electrolyte import Species
    from femli.physics.model import CellModel

__all__ = ["FILM_UNKNOWN", "InterfaceTerms"]

#: The name of the film-drop unknown (V).
FILM_UNKNOWN = "film_drop"


class InterfaceTerms:
    """Reaction, charging and film terms of the electrodes of ``model`` (SI units)."""

    def __init__(self, model: CellModel) -> None:
        self.model = model
        mesh, space = model.domain.mesh, model.space
        self.films: dict[str, Film] = {b: f for e in model.electrodes for b, f in e.films.items()}
        self.has_double_layer = any(e.double_layer is not None for e in model.electrodes)
        #: BDF rate a0/h (1/s) and history (a1 delta_n + a2 delta_n-1)/h (V/s) of the
        #: double layer; zero: no charging current
        self.dl_rate = dolfinx.fem.Constant(mesh, scalar(0.0))
        self.dl_history = dolfinx.fem.Function(space, name="dl_history")
        #: the present time step (s) for the film's passed charge; zero when stationary
        self.step = dolfinx.fem.Constant(mesh, scalar(0.0))
        growing = any(f.growth > 0 for f in self.films.values())
        #: charge density passed through the films (C/m^2), or None without growth
        self.film_charge = dolfinx.fem.Function(space, name="film_charge") if growing else None
        self._pad = dolfinx.fem.Constant(mesh, scalar(0.0))  # keeps the film block's diagonal
        #: per name: the nodes of an electrode (double layer) or boundary (growing film),
        #: and per boundary its compiled interface current; made on first use (the mesh
        #: moves, its topology does not)
        self._nodes: dict[str, np.ndarray] = {}
        self._film_rates: dict[str, tuple[dolfinx.fem.Expression, dolfinx.fem.Function]] = {}

    @property
    def has_film(self) -> bool:
        """True when some electrode boundary carries a film (then ``u`` is an unknown)."""
        return bool(self.films)

    @property
    def film(self) -> dolfinx.fem.Function | None:
        """The film-drop unknown ``u`` (V), or None."""
        return self.model.unknowns[-2] if self.has_film else None

    # -- potentials ------------------------------------------------------------------
    def drop(self, boundary: str) -> Expr | float:
        """The film drop ``u`` (V) on ``boundary`` (0 where there is no film)."""
        film = self.film
        return film if film is not None and boundary in self.films else 0.0

    def delta(self, electrode: Electrode, boundary: str) -> Expr:
        """Interfacial potential difference ``E_s - phi - u`` (V) on ``boundary``."""
        delta = self.model.potentials[electrode.name] - self.model.phi
        drop = self.drop(boundary)
        return delta if isinstance(drop, float) else delta - drop

    # -- currents (A/m^2, anodic positive) ---------------------------------------------
    def reaction_currents(self, electrode: Electrode, boundary: str) -> list[tuple[Reaction, Any]]:
        """``(reaction, i_k)`` for each reaction on ``boundary``."""
        model = self.model
        c = model.concentration(model.electrolyte.reacting)
        delta = self.delta(electrode, boundary)
        out = []
        for reaction in electrode.reactions(boundary):
            law = reaction.kinetics
            ratio = c / model.reference_concentration(law)
            if model.transport.kinetics_see_concentration and law.concentration_dependent:
                ratio = ufl.max_value(ratio, 0.0)
            eta = delta - electrode.equilibrium(reaction)
            out.append((reaction, law.current(eta, model.f, ratio)))
        return out

    def faradaic(self, electrode: Electrode, boundary: str) -> Any:
        """Sum of the reaction currents on ``boundary``."""
        return _sum(i for _, i in self.reaction_currents(electrode, boundary))

    def deposition(self, electrode: Electrode, boundary: str) -> Any:
        """Sum of the currents of the depositing reactions on ``boundary`` (0 if none)."""
        currents = [i for r, i in self.reaction_currents(electrode, boundary) if r.deposits]
        return _sum(currents) if currents else 0.0 * self.model.phi

    def charging(self, electrode: Electrode, boundary: str) -> Any | None:
        """Double-layer charging current on ``boundary``, or None without a double layer."""
        layer = electrode.double_layer
        if layer is None:
            return None
        return layer.current(self.delta(electrode, boundary), self.dl_rate, self.dl_history)

    def interface(self, electrode: Electrode, boundary: str) -> Any:
        """The current through the interface: reactions plus charging."""
        charging = self.charging(electrode, boundary)
        faradaic = self.faradaic(electrode, boundary)
        return faradaic if charging is None else faradaic + charging

    def parts(self, electrode: Electrode, boundary: str) -> list[Any]:
        """Every current crossing ``boundary`` on its own (each reaction, the charging):
        the acceptance check's throughput adds their magnitudes."""
        out = [i for _, i in self.reaction_currents(electrode, boundary)]
        charging = self.charging(electrode, boundary)
        return out if charging is None else [*out, charging]

    # -- residual terms --------------------------------------------------------------
    def _places(self):
        return [
            (e, b, self.model.domain.ds(b)) for e in self.model.electrodes for b in e.boundaries
        ]

    def charge_sources(self) -> list[tuple[Any, ufl.Measure]]:
        """``(i_int, ds)`` of every electrode boundary, for the charge row."""
        return [(self.interface(e, b), ds) for e, b, ds in self._places()]

    def plain(self) -> bool:
        """True when every boundary has one reaction of the default stoichiometry and no
        electrode has a double layer: the sources are then written as femli always did."""
        return not self.has_double_layer and all(
            len(e.reactions(b)) == 1 and e.reactions(b)[0].stoichiometry is None
            for e in self.model.electrodes
            for b in e.boundaries
        )

    def species_sources(self, name: str) -> list[tuple[Any, ufl.Measure]]:
        """``(production of species name, ds)`` in mol/(m^2 s) of every boundary where a
        reaction exchanges it."""
        electrolyte = self.model.electrolyte
        if self.plain():  # the reacting ion, 1/z per electron
            if name != electrolyte.reacting:
                return []
            z = electrolyte.reacting_species.charge
            return [(i / (z * FARADAY), ds) for i, ds in self.charge_sources()]
        out = []
        for e, b, ds in self._places():
            terms = [
                r.production(electrolyte)[name] * i / FARADAY
                for r, i in self.reaction_currents(e, b)
                if name in r.production(electrolyte)
            ]
            if terms:
                out.append((_sum(terms), ds))
        return out

    def salt_sources(self, species: Species, t: float, react: list[tuple]) -> list[tuple]:
        """The binary salt row's electrode sources: the species row's (``react``) minus
        ``t/z`` x the charge row's (mol/(m^2 s))."""
        if self.plain():
            return [((1.0 - t) * source, ds) for source, ds in react]
        electrolyte = self.model.electrolyte
        out = []
        for e, b, ds in self._places():
            source = -(t / species.charge) * self.interface(e, b) / FARADAY
            for r, i in self.reaction_currents(e, b):
                s = r.production(electrolyte).get(species.name)
                if s is not None:
                    source = source + s * i / FARADAY
            out.append((source, ds))
        return out

    def film_residual(self) -> ufl.Form | None:
        """``int (u / R - i_int) / F w ds`` over the film boundaries (mol/(m^2 s) per
        test function), or None without films."""
        film = self.film
        if film is None:
            return None
        w = ufl.TestFunction(film.function_space)
        form = self._pad * film * w * self.model.domain.dx()
        for e, b, ds in self._places():
            if b in self.films:
                current = self.interface(e, b)
                resistance = self.resistance(self.films[b], current)
                form += (film / resistance - current) / FARADAY * w * ds
        return form

    def resistance(self, film: Film, current: Any) -> Any:
        """R (ohm m^2) of ``film`` at the end of the present step, ``current`` the
        interface current (A/m^2)."""
        if film.growth == 0 or self.film_charge is None:
            return film.initial_resistance
        return film.resistance_at(self.film_charge + self.step * abs(current))

    def film_dirichlet(self) -> dolfinx.fem.DirichletBC | None:
        """``u = 0`` at every node not on a film boundary (consistent across ranks)."""
        film = self.film
        if film is None:
            return None
        space = film.function_space
        fdim = self.model.domain.dim - 1
        on_film = dolfinx.fem.Function(space)
        dofs = dolfinx.fem.locate_dofs_topological(
            space, fdim, self.model.domain.facets(*self.films)
        )
        on_film.x.array[dofs] = 1.0
        on_film.x.scatter_reverse(dolfinx.la.InsertMode.add)
        on_film.x.scatter_forward()
        others = np.flatnonzero(on_film.x.array == 0.0).astype(np.int32)
        return dolfinx.fem.dirichletbc(dolfinx.fem.Constant(space.mesh, scalar(0.0)), others, space)

    # -- time-dependent state ----------------------------------------------------------
    def _boundary_nodes(self, key: str, *boundaries: str) -> np.ndarray:
        """The nodes of ``boundaries`` (looked up once under ``key``)."""
        if key not in self._nodes:
            facets = self.model.domain.facets(*boundaries)
            fdim = self.model.domain.dim - 1
            self._nodes[key] = dolfinx.fem.locate_dofs_topological(self.model.space, fdim, facets)
        return self._nodes[key]

    def delta_nodes(self) -> np.ndarray:
        """Nodal ``delta`` (V) on the nodes of electrodes with a double layer (0 elsewhere),
        local array (owned and ghost nodes)."""
        model = self.model
        out = np.zeros_like(model.phi.x.array)
        film = self.film
        for e in model.electrodes:
            if e.double_layer is None:
                continue
            dofs = self._boundary_nodes(f"electrode {e.name}", *e.boundaries)
            value = model.potentials[e.name].value.item() - model.phi.x.array[dofs]
            out[dofs] = value - (film.x.array[dofs] if film is not None else 0.0)
        return out

    def set_time_terms(self, h: float, coefficients: tuple[float, ...], past: list) -> None:
        """The BDF step ``h`` (s) with ``coefficients`` (a0, a1, a2) and the past nodal
        ``delta`` arrays (newest first, as many as the order; ignored without a double
        layer)."""
        # dolfinx annotates Constant.value's setter as an array; it takes a scalar too
        self.step.value = h  # type: ignore[assignment]
        if not self.has_double_layer:
            return
        self.dl_rate.value = coefficients[0] / h  # type: ignore[assignment]
        history = np.zeros_like(self.dl_history.x.array)
        for a, values in zip(coefficients[1:], past, strict=False):
            history += a * values
        self.dl_history.x.array[:] = history / h

    def clear_time_terms(self) -> None:
        """No charging current, no film growth within a step: the stationary terms."""
        self.dl_rate.value = 0.0  # type: ignore[assignment]
        self.dl_history.x.array[:] = 0.0
        self.step.value = 0.0  # type: ignore[assignment]

    def accept_step(self, h: float) -> None:
        """After an accepted step of ``h`` (s): add ``h |i_int|`` to the film charge."""
        if self.film_charge is None or self.film is None:
            return
        current = np.zeros_like(self.film_charge.x.array)
        for e, b, _ in self._places():
            if b in self.films and self.films[b].growth > 0:
                dofs = self._boundary_nodes(f"boundary {b}", b)
                current[dofs] = np.abs(self._film_rate(e, b)[dofs])
        self.film_charge.x.array[:] += h * current

    def state(self) -> dict[str, list[np.ndarray]]:
        """A growing film's passed charge (C/m^2) as checkpoint arrays (none without)."""
        charge = self.film_charge
        return {} if charge is None else {"film_charge": [charge.x.array.copy()]}

    def restore(self, arrays: dict[str, list[np.ndarray]]) -> None:
        """Put back a :meth:`state` (arrays without it leave the charge as it is)."""
        if self.film_charge is not None and "film_charge" in arrays:
            self.film_charge.x.array[:] = arrays["film_charge"][0]

    def extended(self, field: dolfinx.fem.Function) -> dolfinx.fem.Function:
        """A copy of ``field`` (a film drop or charge: values on the film boundaries'
        nodes) with every node given the value of the nearest film-boundary node.

        Interpolated onto a new mesh of the shape (a remesh), it then reads the boundary
        values near the boundary; the field itself, zero one node inside, would be
        extrapolated where the new boundary lies outside the old one (a charge of 1175
        C/m^2 read from nodes holding 651-666). Collective."""
        space = field.function_space
        dofs = dolfinx.fem.locate_dofs_topological(
            space, self.model.domain.dim - 1, self.model.domain.facets(*self.films)
        )
        owned = dofs[dofs < space.dofmap.index_map.size_local]
        coords = space.tabulate_dof_coordinates()
        comm = self.model.domain.comm
        points = np.concatenate(comm.allgather(coords[owned]))
        values = np.concatenate(comm.allgather(field.x.array[owned]))
        out = dolfinx.fem.Function(space)
        if values.size:
            out.x.array[:] = values[cKDTree(points).query(coords)[1]]
        return out

    def _film_rate(self, electrode: Electrode, boundary: str) -> np.ndarray:
        """The interface current density (A/m^2) on ``boundary`` at the nodes (its
        expression compiled once)."""
        if boundary not in self._film_rates:
            space = self.model.space
            points = space.element.interpolation_points
            expr = dolfinx.fem.Expression(self.interface(electrode, boundary), points)
            self._film_rates[boundary] = expr, dolfinx.fem.Function(space)
        expr, values = self._film_rates[boundary]
        values.interpolate(expr)
        return values.x.array


def _sum(terms) -> Any:
    total: Any = None
    for term in terms:
        total = term if total is None else total + term
    return total
