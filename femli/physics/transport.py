"""Transport models: what differs between the primary, secondary, tertiary and supporting models.

The case names a model by its string (``electrolyte.model = "tertiary"``); the
registry here maps that name to a :class:`Transport` class, and
:attr:`femli.physics.electrolyte.Electrolyte.transport` gives its strategy object.
A :class:`~femli.physics.model.CellModel` keeps the assembly (unknowns, residual rows,
scaling, boundary conditions) and asks its transport everything that depends on the
model; so do the derived currents, the admissibility check, the solvers and the case
rules, which read only the flags and methods below, never the name.

Built-in models:

``primary`` (:class:`Primary`)
    Ohmic conduction ``i = -kappa grad(phi)``, infinitely fast kinetics
    (electrolyte potential fixed on electrodes), uniform concentration.
``secondary`` (:class:`Secondary`)
    Ohmic conduction with electrode kinetics, uniform concentration.
``tertiary`` (:class:`Tertiary`)
    Dilute Nernst-Planck for every species, ``N_k = -D_k grad c_k - z_k u_k F c_k
    grad phi`` with Nernst-Einstein mobility ``u_k = D_k / (R T)``, plus
    electroneutrality ``sum z_k c_k = 0`` (the last species is eliminated).
``supporting`` (:class:`Supporting`)
    Conductivity and Li+ diffusivity given independently (COMSOL's "supporting
    electrolyte"): ``i = -kappa grad(phi)``, ``N = -D grad c + t_plus i / F`` for the
    reacting ion; ``t_plus = 0`` is COMSOL's convention (no migration).

All quantities are SI: m^2/s, mol/m^3, S/m, V, A/m^2, mol/(m^2 s).

Adding a transport model
------------------------
Write one class and register it; no other module changes::

    @register
    class Graded(Secondary):
        name = "graded"  # the string a case or an Electrolyte names it by

        def check(self, electrolyte: Electrolyte) -> None:
            if electrolyte.conductivity is None:
                raise ValueError("the graded model needs a conductivity (S/m)")

        def current_density(self, model: CellModel) -> Expr:
            x = ufl.SpatialCoordinate(model.domain.mesh)
            return -(1.0 + x[0] / 1e-5) * model.conductivity() * ufl.grad(model.phi)

Subclass :class:`Transport` (or the closest model), set :attr:`~Transport.name` and the
class flags (:attr:`~Transport.has_kinetics`, :attr:`~Transport.kinetics_see_concentration`,
:attr:`~Transport.has_concentrations`, :attr:`~Transport.conserves_salt`) and override
what differs: :meth:`~Transport.check` (electrolyte requirements, a ``ValueError``
naming what is wrong), :meth:`~Transport.solved_species` (the concentration unknowns),
:meth:`~Transport.unsolved_concentration` (a species that is not an unknown),
:meth:`~Transport.current_density` and :meth:`~Transport.flux` (UFL), and for a model
without kinetics :meth:`~Transport.electrode_phi`. :func:`register` makes the name valid
for :class:`~femli.physics.electrolyte.Electrolyte` and for case files (the schema
accepts every registered name).

The forms
---------
The module's plain functions build the UFL expressions and residuals the models share.
Nothing here assembles or solves: each function takes UFL operands and returns UFL, so
the forms can be unit-tested and reused by the stationary, transient and growth
solvers. Equations are written per unit Faraday (the charge balance is ``div(i/F)``)
so the species and charge rows share units, mol/(m^2 s) per unit test function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import dolfinx
import numpy as np
import ufl
from dolfinx import default_scalar_type as scalar
from ufl.core.expr import Expr

from femli.units import FARADAY

if TYPE_CHECKING:
    from femli.physics.conditions import Electrode
    from femli.physics.electrolyte import Electrolyte, Species
    from femli.physics.model import CellModel

__all__ = [
    "Primary",
    "Secondary",
    "Supporting",
    "Tertiary",
    "Transport",
    "charge_residual",
    "eliminated_concentration",
    "names",
    "nernst_planck_flux",
    "ohmic_current",
    "register",
    "species_residual",
    "transport_class",
    "transport_named",
]


class Transport:
    """The model-dependent part of a cell model (a stateless strategy; SI units).

    The base class is an ohmic conductor without concentrations: the flux of the
    reacting ion is ``i / F``, other species do not move.
    """

    #: the name a case and :class:`~femli.physics.electrolyte.Electrolyte` use
    name: ClassVar[str] = ""
    #: electrodes carry kinetics (else: a Dirichlet condition on phi, :meth:`electrode_phi`)
    has_kinetics: ClassVar[bool] = True
    #: kinetics see the solved concentration (the factor ``max(c / c_ref, 0)``)
    kinetics_see_concentration: ClassVar[bool] = False
    #: some concentration is an unknown (transient runs and transient growth need one)
    has_concentrations: ClassVar[bool] = False
    #: a cell without bulk boundaries keeps its salt (the stationary solve is
    #: pseudo-transient then)
    conserves_salt: ClassVar[bool] = False

    def check(self, electrolyte: Electrolyte) -> None:
        """Raise ``ValueError`` (naming what is wrong) if this model cannot use ``electrolyte``."""

    def solved_species(self, electrolyte: Electrolyte) -> tuple[Species, ...]:
        """The species whose concentration is an unknown, in unknown order."""
        return ()

    def concentration(self, model: CellModel, name: str) -> Expr:
        """Concentration of species ``name`` (mol/m^3) as UFL."""
        species = model.electrolyte.species_named(name)
        solved = [s.name for s in model.species_unknowns]
        if name in solved:
            return model.unknowns[solved.index(name)]
        return self.unsolved_concentration(model, species)

    def unsolved_concentration(self, model: CellModel, species: Species) -> Expr:
        """Concentration (mol/m^3) of a species that is not an unknown: its bulk value."""
        return dolfinx.fem.Constant(model.domain.mesh, scalar(species.concentration))

    def nodal_concentrations(self, model: CellModel) -> dict[str, np.ndarray]:
        """Nodal concentration arrays (mol/m^3) of every species that varies."""
        return {s.name: model.unknowns[k].x.array for k, s in enumerate(model.species_unknowns)}

    def current_density(self, model: CellModel) -> Expr:
        """Electrolyte current density vector i (A/m^2): Ohm's law ``-kappa grad phi``."""
        return ohmic_current(model.phi, model.conductivity())

    def flux(self, model: CellModel, name: str) -> Expr:
        """Molar flux vector of species ``name`` (mol/(m^2 s)): ``i/F`` for the reacting
        ion (it carries the current), zero for the others."""
        return (
            self.current_density(model) / FARADAY
            if name == model.electrolyte.reacting
            else 0 * ufl.grad(model.phi)
        )

    def electrode_phi(self, electrode: Electrode, potential: float) -> float:
        """Electrolyte potential (V) on an electrode at ``potential`` (V) when electrodes
        carry no kinetics: ``E_s - E_eq`` (no overpotential)."""
        return potential - electrode.equilibrium_potential

    def salt_diffusivities(
        self, electrolyte: Electrolyte
    ) -> dict[str | None, tuple[float, float]] | None:
        """Region -> (t, ambipolar D in m^2/s) when the species row may be written as a
        binary salt balance (see :meth:`Tertiary.salt_diffusivities`); else ``None``."""
        return None


class Secondary(Transport):
    """Ohmic conduction with electrode kinetics, uniform concentration."""

    name = "secondary"


class Primary(Secondary):
    """Ohmic conduction, infinitely fast kinetics: phi = E_s - E_eq on electrodes."""

    name = "primary"
    has_kinetics = False


class Tertiary(Transport):
    """Dilute Nernst-Planck for every species; the last one from electroneutrality."""

    name = "tertiary"
    kinetics_see_concentration = True
    has_concentrations = True
    conserves_salt = True

    def check(self, electrolyte: Electrolyte) -> None:
        """At least two species; the reacting one is not the (eliminated) last one."""
        if len(electrolyte.species) < 2:
            raise ValueError("the tertiary model needs at least two species (a cation, an anion)")
        if electrolyte.species[-1].name == electrolyte.reacting:
            raise ValueError("in the tertiary model the reacting species must not be listed last")

    def solved_species(self, electrolyte: Electrolyte) -> tuple[Species, ...]:
        """Every species but the last."""
        return electrolyte.species[:-1]

    def unsolved_concentration(self, model: CellModel, species: Species) -> Expr:
        """Electroneutrality: ``-sum z_k c_k / z_last`` (mol/m^3)."""
        charges = [s.charge for s in model.species_unknowns]
        solved = model.unknowns[: len(charges)]  # (a film drop may follow them)
        return eliminated_concentration(solved, charges, species.charge)

    def nodal_concentrations(self, model: CellModel) -> dict[str, np.ndarray]:
        """The solved arrays and the last species' from electroneutrality (mol/m^3)."""
        arrays = super().nodal_concentrations(model)
        last = model.electrolyte.species[-1]
        total = sum(s.charge * arrays[s.name] for s in model.species_unknowns)
        arrays[last.name] = np.asarray(-total / last.charge)
        return arrays

    def current_density(self, model: CellModel) -> Expr:
        """``i = F sum z_k N_k`` (A/m^2)."""
        total: Any = 0  # UFL's operators are not typed
        for s in model.electrolyte.species:
            total += s.charge * self.flux(model, s.name)
        return FARADAY * total

    def flux(self, model: CellModel, name: str) -> Expr:
        """Nernst-Planck flux ``-D grad c - z D f c grad phi`` (mol/(m^2 s))."""
        species = model.electrolyte.species_named(name)
        c = self.concentration(model, name)
        d = model.diffusivity(name)
        return nernst_planck_flux(c, model.phi, d, species.charge, model.f)

    def salt_diffusivities(
        self, electrolyte: Electrolyte
    ) -> dict[str | None, tuple[float, float]] | None:
        """Binary salt: region -> (t, ambipolar D in m^2/s); key ``None``: bulk.

        ``t = z1 D1 / (z1 D1 - z2 D2)`` is the transference number of the solved (first)
        species, ``D_amb = (z1 - z2) D1 D2 / (z1 D1 - z2 D2)`` (scaled by the region's
        porosity/tortuosity). With them ``N1 - (t/z1) i/F = -D_amb grad c1``: the salt
        balance has no migration term. ``None`` unless there are two species of opposite
        charge and ``t`` is the same in every region. (A subclass that changes the flux
        must return ``None`` here: the salt row is written from these values.)
        """
        if len(electrolyte.species) != 2:
            return None
        first, second = electrolyte.species
        if first.charge * second.charge > 0:
            return None
        values: dict[str | None, tuple[float, float]] = {}
        # (region, diffusivities given there, porosity/tortuosity); None is the bulk
        regions = electrolyte.regions
        places: list[tuple[str | None, dict[str, float], float]] = [(None, {}, 1.0)] + [
            (r.region, r.diffusivity, r.factor) for r in regions
        ]
        for region, given, factor in places:
            d1 = given.get(first.name, first.diffusivity)
            d2 = given.get(second.name, second.diffusivity)
            den = first.charge * d1 - second.charge * d2
            d_amb = (first.charge - second.charge) * d1 * d2 / den
            values[region] = (first.charge * d1 / den, d_amb * factor)
        t_bulk = values[None][0]
        if any(abs(t - t_bulk) > 1e-12 * abs(t_bulk) for t, _ in values.values()):
            return None
        return values


class Supporting(Secondary):
    """Ohmic conduction; the reacting ion diffuses and migrates with ``t_plus``."""

    name = "supporting"
    kinetics_see_concentration = True
    has_concentrations = True
    conserves_salt = True

    def check(self, electrolyte: Electrolyte) -> None:
        """A conductivity is given (it is not the dilute one of the species)."""
        if electrolyte.conductivity is None:
            raise ValueError("the supporting-electrolyte model needs a conductivity (S/m)")

    def solved_species(self, electrolyte: Electrolyte) -> tuple[Species, ...]:
        """The reacting ion."""
        return (electrolyte.reacting_species,)

    def flux(self, model: CellModel, name: str) -> Expr:
        """``-D grad c + t_plus i / F`` for the reacting ion (mol/(m^2 s)); zero for others."""
        if name != model.electrolyte.reacting:
            return super().flux(model, name)
        c = self.concentration(model, name)
        i = self.current_density(model)
        return -model.diffusivity(name) * ufl.grad(c) + model.electrolyte.transference * i / FARADAY


# -- registry -------------------------------------------------------------------------
_REGISTRY: dict[str, type[Transport]] = {}


def register[T: type[Transport]](cls: T) -> T:
    """Make ``cls.name`` a transport model (usable as a class decorator)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__}: a transport model needs a name")
    known = _REGISTRY.get(cls.name)
    if known is not None and known is not cls:
        raise ValueError(f"transport model {cls.name!r} is already {known.__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> tuple[str, ...]:
    """The registered model names, in registration order."""
    return tuple(_REGISTRY)


def transport_class(name: str) -> type[Transport]:
    """The class registered as ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"transport model {name!r} is not one of {list(_REGISTRY)}")
    return _REGISTRY[name]


def transport_named(name: str) -> Transport:
    """The strategy object of model ``name``."""
    return transport_class(name)()


for _cls in (Primary, Secondary, Tertiary, Supporting):
    register(_cls)


def nernst_planck_flux(c, phi, diffusivity, charge: int, f: float):
    """Dilute Nernst-Planck molar flux ``-D grad c - z D f c grad phi`` (mol/(m^2 s))."""
    return -diffusivity * ufl.grad(c) - charge * diffusivity * f * c * ufl.grad(phi)


def eliminated_concentration(concentrations: Sequence, charges: Sequence[int], z_last: int):
    """Electroneutrality: the last species' concentration ``-sum z_k c_k / z_last``."""
    return -sum(z * c for z, c in zip(charges, concentrations, strict=True)) / z_last


def species_residual(flux, rate, v, dx, electrode_sources: Sequence[tuple]):
    """Weak form of ``rate + div N = 0`` with electrode fluxes ``N.n = -i_loc/(z F)``.

    ``electrode_sources`` holds ``(i_loc / (z F), ds)`` pairs for the reacting species.
    """
    form = rate * v * dx - ufl.inner(flux, ufl.grad(v)) * dx
    for source, ds in electrode_sources:
        form -= source * v * ds
    return form


def charge_residual(current_over_f, w, dx, electrode_currents: Sequence[tuple]):
    """Weak form of ``div(i/F) = 0`` with electrode current ``i.n = -i_loc``.

    ``current_over_f`` is ``i/F`` (mol/(m^2 s)); ``electrode_currents`` holds
    ``(i_loc, ds)`` pairs.
    """
    form = -ufl.inner(current_over_f, ufl.grad(w)) * dx
    for i_loc, ds in electrode_currents:
        form -= (i_loc / FARADAY) * w * ds
    return form


def ohmic_current(phi, conductivity):
    """Ohm's law ``i = -kappa grad phi`` (A/m^2)."""
    return -conductivity * ufl.grad(phi)
