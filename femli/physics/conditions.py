"""Boundary conditions by region name: electrodes and bulk (reservoir) boundaries.

Boundaries not named by any condition are insulating (zero normal flux and
current), which is also the symmetry condition on a mirror plane.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from femli.physics.interface import DoubleLayer, Film, Reaction, reactions_of
from femli.physics.kinetics import Kinetics

__all__ = [
    "Bulk",
    "Electrode",
]


@dataclass(slots=True, frozen=True)
class Electrode:
    """A metal electrode covering one or more named boundaries.

    Exactly one of ``potential`` (potentiostatic) or ``current_density``
    (galvanostatic) is given.

    Args:
        name: label used in outputs.
        kinetics: boundary name -> kinetics law, or a tuple of
            :class:`~femli.physics.interface.Reaction` (several reactions on one
            boundary, e.g. deposition and SEI formation); different parts of one
            electrode may carry different laws (nuclei active, substrate inert). A bare
            law is one depositing reaction at ``equilibrium_potential``.
        potential: electrode potential E_s in V, measured against the electrolyte
            potential reference (``phi_l = 0`` on the bulk boundary).
        current_density: mean applied current density in A/m^2 over the electrode's
            total area (anodic positive, deposition negative); the electrode
            potential becomes a global unknown.
        equilibrium_potential: E_eq in V (0 for Li/Li+ at the reference concentration).
        reference_area: area the applied current density refers to (m^2; m in 2D),
            e.g. the electrode's footprint; default: the electrode's own area.
        films: boundary name -> :class:`~femli.physics.interface.Film` (a surface film
            in series with the reactions there); boundaries not named have none.
        double_layer: the electrode's :class:`~femli.physics.interface.DoubleLayer`
            (charging current in time-dependent runs), or ``None``.
    """

    name: str
    kinetics: Mapping[str, Kinetics | Reaction | tuple[Reaction, ...]]
    potential: float | None = None
    current_density: float | None = None
    equilibrium_potential: float = 0.0
    reference_area: float | None = None
    films: Mapping[str, Film] = field(default_factory=dict)
    double_layer: DoubleLayer | None = None

    def __post_init__(self) -> None:
        if self.reference_area is not None and not self.reference_area > 0:
            raise ValueError(f"electrode {self.name!r}: reference_area must be > 0")
        if not self.kinetics:
            raise ValueError(f"electrode {self.name!r} names no boundaries")
        if (self.potential is None) == (self.current_density is None):
            raise ValueError(
                f"electrode {self.name!r}: give exactly one of potential (V) or "
                "current_density (A/m^2)"
            )
        self._check_interface()

    def _check_interface(self) -> None:
        """Films on the electrode's own boundaries, at least one reaction per boundary."""
        unknown = [b for b in self.films if b not in self.kinetics]
        if unknown:
            raise ValueError(
                f"electrode {self.name!r}: films on {unknown}, which are not among its "
                f"boundaries {list(self.kinetics)}"
            )
        for boundary, entry in self.kinetics.items():
            if isinstance(entry, tuple) and (
                not entry or not all(isinstance(r, Reaction) for r in entry)
            ):
                raise ValueError(
                    f"electrode {self.name!r}, boundary {boundary!r}: give a kinetics law "
                    "or a non-empty tuple of Reaction"
                )

    @property
    def boundaries(self) -> tuple[str, ...]:
        """Boundary names the electrode covers."""
        return tuple(self.kinetics)

    def reactions(self, boundary: str) -> tuple[Reaction, ...]:
        """The reactions on ``boundary`` (a bare law: one depositing reaction)."""
        return reactions_of(self.kinetics[boundary])

    def equilibrium(self, reaction: Reaction) -> float:
        """E_eq of ``reaction`` on this electrode (V): its own, else the electrode's."""
        e_eq = reaction.equilibrium_potential
        return self.equilibrium_potential if e_eq is None else e_eq

    def depositing(self, boundary: str) -> bool:
        """True when some reaction on ``boundary`` deposits metal (and is not inert)."""
        return any(r.deposits and not r.inert for r in self.reactions(boundary))

    @property
    def galvanostatic(self) -> bool:
        """True when the total current is prescribed."""
        return self.current_density is not None


@dataclass(slots=True, frozen=True)
class Bulk:
    """A reservoir boundary: fixed concentrations and electrolyte potential.

    Args:
        boundaries: boundary names.
        potential: electrolyte potential phi_l in V (the reference, default 0), or a
            function of the coordinates ``x`` (array (3, n), m) returning V, e.g. to
            impose a known far field.
        concentrations: species name -> mol/m^3 (default: the electrolyte's bulk), each a
            number or a function of the coordinates like ``potential``.
    """

    boundaries: tuple[str, ...]
    potential: float | Callable = 0.0
    concentrations: dict[str, float | Callable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.boundaries:
            raise ValueError("a bulk condition needs at least one boundary name")
        for name, c in self.concentrations.items():
            if not callable(c) and not c > 0:
                raise ValueError(f"bulk concentration of {name!r} must be > 0 mol/m^3")
