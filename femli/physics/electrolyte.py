"""Electrolytes: ionic species, transport model, and per-region transport properties.

The transport model (``Electrolyte.model``) is named by its string; what it means
(primary, secondary, tertiary, supporting, or a registered one) is in
:mod:`femli.physics.transport`, and :attr:`Electrolyte.transport` is its strategy.

All quantities are SI: m^2/s, mol/m^3, S/m, K.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from femli.physics.concentrated import Concentrated
from femli.physics.properties import ConcentratedProperties
from femli.physics.transport import Transport, transport_class, transport_named
from femli.units import FARADAY, GAS_CONSTANT, T_DEFAULT

__all__ = [
    "Electrolyte",
    "RegionProperties",
    "Species",
    "binary",
]


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
        model: a transport model's name (:func:`femli.physics.transport.names`).
        reacting: name of the species produced/consumed at electrodes (``"Li+"``).
        temperature: K.
        conductivity: S/m; required for ``supporting``; for ``primary``/``secondary``
            defaults to the dilute Nernst-Planck value of the species.
        transference: Li+ transference number for ``supporting`` (0 <= t < 1).
        regions: per-region transport properties.
        properties: kappa, D, t+ and thermodynamic factor as functions of the salt
            concentration and temperature, for ``concentrated``
            (:mod:`femli.physics.concentrated`); ``None``: the species' dilute values.
    """

    species: tuple[Species, ...]
    model: str = "tertiary"
    reacting: str = "Li+"
    temperature: float = T_DEFAULT
    conductivity: float | None = None
    transference: float = 0.0
    regions: tuple[RegionProperties, ...] = ()
    properties: ConcentratedProperties | None = None

    def __post_init__(self) -> None:
        transport_class(self.model)  # a ValueError naming the registered models
        names = [s.name for s in self.species]
        if len(set(names)) != len(names):
            raise ValueError(f"species names must be unique, got {names}")
        if self.reacting not in names:
            raise ValueError(f"reacting species {self.reacting!r} is not among {names}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0 K, got {self.temperature}")
        self._check_neutrality()
        self.transport.check(self)
        if self.conductivity is not None and not self.conductivity > 0:
            raise ValueError(f"conductivity must be > 0 S/m, got {self.conductivity}")
        if not 0 <= self.transference < 1:
            raise ValueError(f"transference must be in [0, 1), got {self.transference}")
        if self.properties is not None and not isinstance(self.transport, Concentrated):
            raise ValueError(f'properties apply to model "concentrated", not "{self.model}"')

    def _check_neutrality(self) -> None:
        charge = sum(s.charge * s.concentration for s in self.species)
        scale = max(abs(s.charge) * s.concentration for s in self.species)
        if len(self.species) > 1 and abs(charge) > 1e-9 * scale:
            raise ValueError(
                f"bulk composition is not electroneutral: sum z c = {charge:g} mol/m^3"
            )

    @property
    def transport(self) -> Transport:
        """The strategy of the transport model :attr:`model`."""
        return transport_named(self.model)

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
        """Region -> (t, ambipolar D in m^2/s) of a binary salt balance, key ``None``: the
        bulk; ``None`` when the model has none (see
        :meth:`femli.physics.transport.Tertiary.salt_diffusivities`)."""
        return self.transport.salt_diffusivities(self)

    def region(self, name: str) -> RegionProperties | None:
        """Properties of region ``name`` or ``None``."""
        return next((r for r in self.regions if r.region == name), None)


def binary(
    concentration: float,
    d_cation: float,
    d_anion: float,
    *,
    model: str = "tertiary",
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
