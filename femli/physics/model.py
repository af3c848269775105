"""The cell model: unknowns, coefficient fields, residual and boundary conditions.

A :class:`CellModel` turns a :class:`~femli.mesh.Domain`, an
:class:`~femli.physics.electrolyte.Electrolyte` and named boundary conditions into
UFL residuals over a list of unknown fields (concentrations first, then the film drop
``film_drop`` when an electrode boundary carries a film, the electrolyte potential
``phi`` last). What depends on the transport model (the unknowns, fluxes,
current density, electrode conditions) is asked of its
:class:`~femli.physics.transport.Transport`. Forms are built once; everything that
changes during a run (electrode potentials, time-step coefficients, history terms,
Dirichlet values) lives in :class:`dolfinx.fem.Constant` or
:class:`dolfinx.fem.Function` objects.

The electrode currents (several reactions per boundary, the double layer's charging
current, surface films) are :class:`~femli.physics.interface_terms.InterfaceTerms`'
(:attr:`CellModel.interface`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import dolfinx
import numpy as np
import ufl
from dolfinx import default_scalar_type as scalar
from mpi4py import MPI
from ufl.core.expr import Expr

from femli.mesh import Domain
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte
from femli.physics.interface_terms import FILM_UNKNOWN, InterfaceTerms
from femli.physics.kinetics import Kinetics
from femli.physics.transport import Transport, charge_residual, species_residual
from femli.units import FARADAY

__all__ = [
    "CellModel",
    "ModelError",
    "ModelState",
]


class ModelError(ValueError):
    """A physics set-up that cannot be solved as stated."""


class ModelState(NamedTuple):
    """A copy of a model's state: the unknowns' local arrays (owned and ghost dofs, in the
    order of :attr:`CellModel.unknowns`) and the electrode potentials (V) by name."""

    unknowns: list[np.ndarray]
    potentials: dict[str, float]


class CellModel:
    """Residual and unknowns of one transport model on a domain (SI units).

    ``salt_balance``: for a binary tertiary electrolyte, write the species row as the
    salt balance (see :meth:`_salt_balance`; the same solution, a cheaper Jacobian).
    """

    def __init__(
        self,
        domain: Domain,
        electrolyte: Electrolyte,
        electrodes: Sequence[Electrode],
        bulk: Sequence[Bulk] = (),
        degree: int = 1,
        salt_balance: bool = True,
    ) -> None:
        self.domain, self.electrolyte = domain, electrolyte
        self.electrodes, self.bulk = tuple(electrodes), tuple(bulk)
        self._check_names()
        self.space = dolfinx.fem.functionspace(domain.mesh, ("Lagrange", degree))
        self.model = electrolyte.model  # the transport model's name
        self.transport: Transport = electrolyte.transport
        self.species_unknowns = self.transport.solved_species(electrolyte)
        self.potentials = {
            e.name: dolfinx.fem.Constant(domain.mesh, scalar(0.0)) for e in self.electrodes
        }
        #: reactions, double layer and films of the electrodes (their UFL terms)
        self.interface = InterfaceTerms(self)
        film = [FILM_UNKNOWN] if self.interface.has_film else []
        names = [f"c_{s.name}" for s in self.species_unknowns] + film + ["phi"]
        # one space object per unknown: block Dirichlet conditions are matched by space
        self.unknowns = [dolfinx.fem.Function(self.space.clone(), name=n) for n in names]
        self.rate_coefficient = dolfinx.fem.Constant(domain.mesh, scalar(0.0))
        self.salt = self._salt_balance() if salt_balance else None
        self.history = [dolfinx.fem.Function(self.space) for _ in self.species_unknowns]
        self.set_initial_state()
        self.residual = self._residual()
        self.bcs, self._dirichlet_values = self._boundary_conditions()

    # -- set-up ---------------------------------------------------------------
    def _check_names(self) -> None:
        for e in self.electrodes:
            self.domain.facet_tag_values(*e.boundaries)
        for b in self.bulk:
            self.domain.facet_tag_values(*b.boundaries)
        for r in self.electrolyte.regions:
            self.domain.cell_tag_values(r.region)
        names = [n for e in self.electrodes for n in e.boundaries]
        names += [n for b in self.bulk for n in b.boundaries]
        if len(set(names)) != len(names):
            raise ModelError(f"a boundary is named by more than one condition: {names}")
        if not self.electrodes:
            raise ModelError("at least one electrode is needed")
        if not any(not e.galvanostatic for e in self.electrodes) and not self.bulk:
            raise ModelError(
                "the electrolyte potential has no reference: give a bulk boundary or "
                "a potentiostatic electrode"
            )
        self._check_interfaces()

    def _check_interfaces(self) -> None:
        """Reactions conserve charge; films, double layers and several reactions need
        electrode kinetics (a model without them fixes phi on the electrodes)."""
        for e in self.electrodes:
            for b in e.boundaries:
                for r in e.reactions(b):
                    try:
                        r.check(self.electrolyte)
                    except ValueError as err:
                        raise ModelError(f"electrode {e.name!r}, boundary {b!r}: {err}") from None
            extra = e.films or e.double_layer or any(len(e.reactions(b)) > 1 for b in e.boundaries)
            if extra and not self.electrolyte.transport.has_kinetics:
                raise ModelError(
                    f"electrode {e.name!r}: films, double layers and several reactions need "
                    f"electrode kinetics; the {self.electrolyte.model} model has none"
                )

    def _salt_balance(self) -> tuple[float, dolfinx.fem.Constant | dolfinx.fem.Function] | None:
        """``(t, D_amb)`` when the species row is written as the binary salt balance.

        For a binary tertiary electrolyte with a uniform transference number ``t`` the
        species row minus ``t/z`` times the charge row is ``div(D_amb grad c)`` plus
        the storage and electrode terms: the same discrete equations (an invertible
        row combination), but the Jacobian's concentration row couples to the
        potential only on electrodes, and its volume part does not change in Newton.
        """
        values = self.electrolyte.salt_diffusivities()
        if values is None:
            return None
        t, d_bulk = values.pop(None)
        return t, self.region_field({r: d for r, (_, d) in values.items() if r is not None}, d_bulk)

    @property
    def phi(self) -> dolfinx.fem.Function:
        """Electrolyte potential (V)."""
        return self.unknowns[-1]

    @property
    def f(self) -> float:
        """F/(RT) in 1/V."""
        return self.electrolyte.f

    def region_field(
        self, values: dict[str, float], default: float
    ) -> dolfinx.fem.Constant | dolfinx.fem.Function:
        """A DG0 field equal to ``values[region]`` on named regions, else ``default``."""
        if not values:
            return dolfinx.fem.Constant(self.domain.mesh, scalar(default))
        space = dolfinx.fem.functionspace(self.domain.mesh, ("DG", 0))
        field = dolfinx.fem.Function(space)
        field.x.array[:] = default
        for region, value in values.items():
            cells = self.domain.cells(region)
            field.x.array[space.dofmap.list[cells].ravel()] = value
        field.x.scatter_forward()
        return field

    def _porosity(self):
        return self.region_field({r.region: r.porosity for r in self.electrolyte.regions}, 1.0)

    def diffusivity(self, name: str):
        """Effective diffusivity field of species ``name`` (m^2/s)."""
        base = self.electrolyte.species_named(name).diffusivity
        values = {
            r.region: r.diffusivity.get(name, base) * r.factor for r in self.electrolyte.regions
        }
        return self.region_field(values, base)

    def conductivity(self):
        """Effective conductivity field (S/m) for the ohmic models."""
        base = self.electrolyte.bulk_conductivity()
        values = {r.region: (r.conductivity or base) * r.factor for r in self.electrolyte.regions}
        return self.region_field(values, base)

    # -- concentrations and currents -------------------------------------------
    def concentration(self, name: str) -> Expr:
        """Concentration of species ``name`` (mol/m^3) as UFL (a constant if not solved)."""
        return self.transport.concentration(self, name)

    def reference_concentration(self, law: Kinetics) -> float:
        """c_ref of a kinetics law (default: bulk concentration of the reacting ion)."""
        return law.reference_concentration or self.electrolyte.reacting_species.concentration

    @property
    def film(self) -> dolfinx.fem.Function | None:
        """The film drop ``u = i R_film`` (V; zero off the film boundaries), or None."""
        return self.interface.film

    def overpotential(self, electrode: Electrode):
        """Surface overpotential ``E_s - phi - u - E_eq`` (V) as UFL, ``u`` the film drop
        (the electrode's equilibrium potential; a reaction with its own E_eq differs)."""
        eta = self.potentials[electrode.name] - self.phi - electrode.equilibrium_potential
        return eta if self.film is None else eta - self.film

    def local_current(self, electrode: Electrode, boundary: str):
        """Local reaction (faradaic) current density (A/m^2, anodic positive) on
        ``boundary``: the sum over its reactions."""
        return self.interface.faradaic(electrode, boundary)

    def deposition_current(self, electrode: Electrode, boundary: str):
        """Current density (A/m^2) of the reactions on ``boundary`` that deposit metal."""
        return self.interface.deposition(electrode, boundary)

    def boundary_current(self, electrode: Electrode, boundary: str):
        """The current density (A/m^2) through the interface on ``boundary``: reactions
        plus the double layer's charging current (what the electrolyte carries away)."""
        return self.interface.interface(electrode, boundary)

    def electrode_terms(self) -> list[tuple]:
        """``(i_int, ds)`` for every reacting electrode boundary (charge row sources)."""
        if not self.transport.has_kinetics:
            return []
        return self.interface.charge_sources()

    def current_density(self) -> Expr:
        """Electrolyte current density vector i (A/m^2) as UFL."""
        return self.transport.current_density(self)

    def flux(self, name: str | None = None) -> Expr:
        """Molar flux vector of species ``name`` (default: the reacting ion), mol/(m^2 s)."""
        name = name or self.electrolyte.reacting
        self.electrolyte.species_named(name)  # a KeyError for a name that is no species
        return self.transport.flux(self, name)

    # -- residual and boundary conditions -------------------------------------
    def _scale(self) -> float:
        """Residual scaling ``L^(2-d) / (D_ref c_ref)`` so rows are O(1) and comparable."""
        x = self.domain.mesh.geometry.x
        comm = self.domain.comm
        extent = []
        for k in range(3):
            lo = comm.allreduce(float(x[:, k].min()) if x.size else np.inf, op=MPI.MIN)
            hi = comm.allreduce(float(x[:, k].max()) if x.size else -np.inf, op=MPI.MAX)
            extent.append(hi - lo)
        length = max(extent)
        d_ref = max(s.diffusivity for s in self.electrolyte.species)
        c_ref = self.electrolyte.reacting_species.concentration
        dim = 3 if self.domain.axisymmetric else self.domain.dim  # r-z integrals are 3D
        return length ** (2 - dim) / (d_ref * c_ref)

    def _residual(self) -> list:
        dx = self.domain.dx()
        scale = self.residual_scale = self._scale()
        sources = self.electrode_terms()
        tests = [ufl.TestFunction(u.function_space) for u in self.unknowns]
        porosity = self._porosity()
        residual = []
        for k, s in enumerate(self.species_unknowns):
            c = self.unknowns[k]
            rate = porosity * (self.rate_coefficient * c + self.history[k])
            react = self.interface.species_sources(s.name) if sources else []
            if self.salt is None:
                flux = self.flux(s.name)
            else:  # the salt balance: this row minus (t/z) x the charge row
                flux = -self.salt[1] * ufl.grad(c)
                react = self.interface.salt_sources(s, self.salt[0], react)
            residual.append(scale * species_residual(flux, rate, tests[k], dx, react))
        film = self.interface.film_residual()
        if film is not None:
            residual.append(scale * film)
        i_over_f = self.current_density() / FARADAY
        residual.append(scale * charge_residual(i_over_f, tests[-1], dx, sources))
        return residual

    def _boundary_conditions(self):
        bcs, values = [], []
        mesh, fdim = self.domain.mesh, self.domain.dim - 1
        for b in self.bulk:
            dofs = dolfinx.fem.locate_dofs_topological(
                self.space, fdim, self.domain.facets(*b.boundaries)
            )
            for k, s in enumerate(self.species_unknowns):
                value = b.concentrations.get(s.name, s.concentration)
                bcs.append(self._dirichlet(value, dofs, self.unknowns[k].function_space))
            bcs.append(self._dirichlet(b.potential, dofs, self.phi.function_space))
        film = self.interface.film_dirichlet()
        if film is not None:
            bcs.append(film)
        if not self.transport.has_kinetics:  # phi given on the electrodes instead
            for e in self.electrodes:
                dofs = dolfinx.fem.locate_dofs_topological(
                    self.space, fdim, self.domain.facets(*e.boundaries)
                )
                value = dolfinx.fem.Constant(mesh, scalar(self.transport.electrode_phi(e, 0.0)))
                bcs.append(dolfinx.fem.dirichletbc(value, dofs, self.phi.function_space))
                values.append((e, value))
        return bcs, values

    def _dirichlet(self, value, dofs, space) -> dolfinx.fem.DirichletBC:
        """A Dirichlet condition from a number or a function of coordinates (m)."""
        if callable(value):
            field = dolfinx.fem.Function(space)
            field.interpolate(value)
            return dolfinx.fem.dirichletbc(field, dofs)
        constant = dolfinx.fem.Constant(self.domain.mesh, scalar(value))
        return dolfinx.fem.dirichletbc(constant, dofs, space)

    def add_source(self, equation: str, rate, measure: ufl.Measure) -> None:
        """Add a production term to one equation before a solver is built.

        ``equation`` is a solved species name (``rate`` in mol/(m^3 s) over ``dx``, or
        an inward boundary flux in mol/(m^2 s) over ``ds``) or ``"charge"`` (``rate``
        is div(i)/F, mol/(m^3 s)). Used for homogeneous reactions and for
        manufactured-solution verification.
        """
        names = [s.name for s in self.species_unknowns]
        if equation == "charge":
            k = len(self.unknowns) - 1
        elif equation in names:
            k = names.index(equation)
        else:
            raise ModelError(f"no equation {equation!r}; solved: {[*names, 'charge']}")
        test = ufl.TestFunction(self.unknowns[k].function_space)
        self.residual[k] -= self.residual_scale * rate * test * measure
        if equation == "charge" and self.salt is not None:  # the salt row holds -t/z x charge
            first = self.species_unknowns[0]
            test = ufl.TestFunction(self.unknowns[0].function_space)
            lam = self.salt[0] / first.charge
            self.residual[0] += lam * self.residual_scale * rate * test * measure

    # -- state ----------------------------------------------------------------
    def set_potential(self, electrode: Electrode, value: float) -> None:
        """Set the electrode potential E_s (V) (and phi on it when it carries no kinetics)."""
        # dolfinx annotates Constant.value's setter as an array; it takes a scalar too
        self.potentials[electrode.name].value = value  # type: ignore[assignment]
        for e, const in self._dirichlet_values:
            if e.name == electrode.name:
                const.value = self.transport.electrode_phi(e, value)

    def set_initial_state(self) -> None:
        """Uniform bulk concentrations, zero potential and film drop."""
        for k, s in enumerate(self.species_unknowns):
            self.unknowns[k].x.array[:] = s.concentration
        for u in self.unknowns[len(self.species_unknowns) :]:
            u.x.array[:] = 0.0

    def snapshot(self) -> ModelState:
        """A copy of the unknowns and the electrode potentials (:meth:`restore` puts it back)."""
        potentials = {k: c.value.item() for k, c in self.potentials.items()}
        return ModelState([u.x.array.copy() for u in self.unknowns], potentials)

    def restore(self, state: ModelState) -> None:
        """Put back a :meth:`snapshot` (or the same data read from a checkpoint)."""
        for u, values in zip(self.unknowns, state.unknowns, strict=True):
            u.x.array[:] = values
        for e in self.electrodes:
            self.set_potential(e, float(state.potentials[e.name]))

    @property
    def has_fixed_concentration(self) -> bool:
        """True when some boundary fixes the concentrations (else the salt is conserved)."""
        return bool(self.bulk) or not self.transport.conserves_salt

    def unknown_scales(self) -> list[float]:
        """The natural size of each unknown: the species' bulk concentration (mol/m^3),
        the thermal voltage RT/F for the potentials (V). Newton steps are judged in these."""
        potentials = len(self.unknowns) - len(self.species_unknowns)
        return [s.concentration for s in self.species_unknowns] + [1.0 / self.f] * potentials

    def num_dofs(self) -> int:
        """Global number of unknowns."""
        imap = self.space.dofmap.index_map
        return imap.size_global * self.space.dofmap.index_map_bs * len(self.unknowns)
