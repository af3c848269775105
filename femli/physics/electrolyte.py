"""Electrolytes: ionic species, transport model, and per-region transport properties.

Transport models (``Electrolyte.model``):

``primary``
    Ohmic conduction ``i = -kappa grad(phi)``, infinitely fast kinetics
    (electrolyte potential fixed on electrodes), uniform concentration.
``secondary``
    Ohmic conduction with electrode kinetics, uniform concentration.
``tertiary``
    Dilute Nernst-Planck for every species, ``N_k = -D_k grad c_k - z_k u_k F c_k
    grad phi`` with Nernst-Einstein mobility ``u_k = D_k / (R T)``, plus
    electroneutrality ``sum z_k c_k = 0`` (the last species is eliminated).
``supporting``
    Conductivity and Li+ diffusivity given independently (COMSOL's "supporting
    electrolyte"): ``i = -kappa grad(phi)``, ``N = -D grad c + t_plus i / F`` for the
    reacting ion; ``t_plus = 0`` is COMSOL's convention (no migration).

All quantities are SI: m^2/s, mol/m^3, S/m, K.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from femli.units import FARADAY, GAS_CONSTANT, T_DEFAULT

TransportModel = Literal["primary", "secondary", "tertiary", "supporting"]
MODELS: tuple[str, ...] = ("primary", "secondary", "tertiary", "supporting")


@dataclass(slots=True, frozen=True)
class Species:
    """One ionic species.

    Args:
        name: label, e.g. ``"Li+"``.
        charge: charge number z (non-zero integer).
        diffusivity: D in m^2/s (> 0).
        concentration: bulk (and initial) concentration in mol/m^3 (> 0).
    """

    name: str
    charge: int
    diffusivity: float
    concentration: float

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("species name must not be empty")
        if self.charge == 0 or int(self.charge) != self.charge:
            raise ValueError(f"species {self.name!r}: charge must be a non-zero integer")
        if not self.diffusivity > 0:
            raise ValueError(
                f"species {self.name!r}: diffusivity must be > 0 m^2/s, got {self.diffusivity}"
            )
        if not self.concentration > 0:
            raise ValueError(
                f"species {self.name!r}: concentration must be > 0 mol/m^3, "
                f"got {self.concentration}"
            )


@dataclass(slots=True, frozen=True)
class RegionProperties:
    """Transport properties of a named cell region (coating, porous layer).

    Effective values are ``value * porosity / tortuosity``; ``None`` keeps the
    electrolyte's value. Storage (the time-derivative term) scales with porosity.

    Args:
        region: cell-region name in the mesh.
        diffusivity: species name -> D in m^2/s inside the region.
        conductivity: kappa in S/m inside the region (primary/secondary/supporting).
        porosity: electrolyte volume fraction in (0, 1].
        tortuosity: tortuosity factor >= 1.
    """

    region: str
    diffusivity: dict[str, float] = field(default_factory=dict)
    conductivity: float | None = None
    porosity: float = 1.0
    tortuosity: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.porosity <= 1:
            raise ValueError(f"region {self.region!r}: porosity must be in (0, 1]")
        if not self.tortuosity >= 1:
            raise ValueError(f"region {self.region!r}: tortuosity must be >= 1")
        if self.conductivity is not None and not self.conductivity > 0:
            raise ValueError(f"region {self.region!r}: conductivity must be > 0 S/m")
        for name, d in self.diffusivity.items():
            if not d > 0:
                raise ValueError(f"region {self.region!r}: diffusivity of {name!r} must be > 0")

    @property
    def factor(self) -> float:
        """Porosity / tortuosity multiplier on transport coefficients."""
        return self.porosity / self.tortuosity


@dataclass(slots=True, frozen=True)
class Electrolyte:
    """An electrolyte: species, transport model and temperature.

    Args:
        species: ionic species; the bulk composition must be electroneutral.
        model: one of :data:`MODELS`.
        reacting: name of the species produced/consumed at electrodes (``"Li+"``).
        temperature: K.
        conductivity: S/m; required for ``supporting``; for ``primary``/``secondary``
            defaults to the dilute Nernst-Planck value of the species.
        transference: Li+ transference number for ``supporting`` (0 <= t < 1).
        regions: per-region transport properties.
    """

    species: tuple[Species, ...]
    model: TransportModel = "tertiary"
    reacting: str = "Li+"
    temperature: float = T_DEFAULT
    conductivity: float | None = None
    transference: float = 0.0
    regions: tuple[RegionProperties, ...] = ()

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"transport model {self.model!r} is not one of {list(MODELS)}")
        names = [s.name for s in self.species]
        if len(set(names)) != len(names):
            raise ValueError(f"species names must be unique, got {names}")
        if self.reacting not in names:
            raise ValueError(f"reacting species {self.reacting!r} is not among {names}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0 K, got {self.temperature}")
        self._check_neutrality()
        if self.model == "tertiary" and len(self.species) < 2:
            raise ValueError("the tertiary model needs at least two species (a cation, an anion)")
        if self.model == "supporting" and self.conductivity is None:
            raise ValueError("the supporting-electrolyte model needs a conductivity (S/m)")
        if self.conductivity is not None and not self.conductivity > 0:
            raise ValueError(f"conductivity must be > 0 S/m, got {self.conductivity}")
        if not 0 <= self.transference < 1:
            raise ValueError(f"transference must be in [0, 1), got {self.transference}")
        if self.model == "tertiary" and self.species[-1].name == self.reacting:
            raise ValueError("in the tertiary model the reacting species must not be listed last")

    def _check_neutrality(self) -> None:
        charge = sum(s.charge * s.concentration for s in self.species)
        scale = max(abs(s.charge) * s.concentration for s in self.species)
        if len(self.species) > 1 and abs(charge) > 1e-9 * scale:
            raise ValueError(
                f"bulk composition is not electroneutral: sum z c = {charge:g} mol/m^3"
            )

    @property
    def f(self) -> float:
        """F/(R T) in 1/V."""
        return FARADAY / (GAS_CONSTANT * self.temperature)

    def species_named(self, name: str) -> Species:
        """The species called ``name``."""
        for s in self.species:
            if s.name == name:
                return s
        raise KeyError(f"no species named {name!r}")

    @property
    def reacting_species(self) -> Species:
        """The species exchanged at electrodes."""
        return self.species_named(self.reacting)

    def bulk_conductivity(self) -> float:
        """kappa in S/m: the given one, else the dilute value F^2/(RT) sum z^2 D c."""
        if self.conductivity is not None:
            return self.conductivity
        return (
            self.f
            * FARADAY
            * sum(s.charge**2 * s.diffusivity * s.concentration for s in self.species)
        )

    def salt_diffusivities(self) -> dict[str | None, tuple[float, float]] | None:
        """Binary tertiary salt: region -> (t, ambipolar D in m^2/s); key ``None``: bulk.

        ``t = z1 D1 / (z1 D1 - z2 D2)`` is the transference number of the solved (first)
        species, ``D_amb = (z1 - z2) D1 D2 / (z1 D1 - z2 D2)`` (scaled by the region's
        porosity/tortuosity). With them ``N1 - (t/z1) i/F = -D_amb grad c1``: the salt
        balance has no migration term. ``None`` unless the model is ``tertiary`` with
        two species of opposite charge and ``t`` is the same in every region.
        """
        if self.model != "tertiary" or len(self.species) != 2:
            return None
        first, second = self.species
        if first.charge * second.charge > 0:
            return None
        values: dict[str | None, tuple[float, float]] = {}
        # (region, diffusivities given there, porosity/tortuosity); None is the bulk
        places = [(None, {}, 1.0)] + [(r.region, r.diffusivity, r.factor) for r in self.regions]
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

    def region(self, name: str) -> RegionProperties | None:
        """Properties of region ``name`` or ``None``."""
        return next((r for r in self.regions if r.region == name), None)


def binary(
    concentration: float,
    d_cation: float,
    d_anion: float,
    *,
    model: TransportModel = "tertiary",
    cation: str = "Li+",
    anion: str = "A-",
    **kwargs,
) -> Electrolyte:
    """A 1:1 binary salt at ``concentration`` (mol/m^3) with the given diffusivities."""
    species = (
        Species(cation, +1, d_cation, concentration),
        Species(anion, -1, d_anion, concentration),
    )
    return Electrolyte(species, model=model, reacting=cation, **kwargs)
