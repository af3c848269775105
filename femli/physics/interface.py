"""The electrode/electrolyte interface: reactions, a surface film, the double layer.

An electrode boundary carries one or more :class:`Reaction` objects (each a kinetics law
with its own equilibrium potential, the species it exchanges and whether it deposits
metal), optionally a :class:`Film` (an ionically conducting layer such as the SEI, in
series with the reactions), and its electrode optionally a :class:`DoubleLayer`.

Potentials (V) on one boundary node:

- ``E_s``: the electrode (metal) potential;
- ``phi``: the electrolyte potential outside the film;
- ``u = i_int R_film``: the ohmic drop across the film (0 without a film), where
  ``i_int`` is the current through the interface (A/m^2, anodic positive);
- ``delta = E_s - phi - u``: the interfacial potential difference at the metal;
- ``eta_k = delta - E_eq,k``: the surface overpotential of reaction ``k``.

The current through the interface is the sum of the reaction (faradaic) currents
``i_k = law_k(eta_k)`` and the charging current of the double layer
``i_dl = C_dl d(delta)/dt``. With a film, ``eta = E_s - phi - E_eq - i R_film`` is
implicit in ``i``; :class:`~femli.physics.model.CellModel` makes ``u`` an unknown on the
film's boundary nodes (one more row, ``u / R_film = i_int``, in current units) and
Newton solves it with everything else: exact for any kinetics law, with the Jacobian of
the coupled problem (see :mod:`femli.physics.model`).

Species: reaction ``k`` produces ``s_k,j i_k / F`` mol/(m^2 s) of species ``j``
(``stoichiometry``: mol of species per mol of electrons released in the anodic
direction; the default is the reacting ion, ``1/z``). Charge is conserved when
``sum_j z_j s_k,j = 1``, which :meth:`Reaction.check` demands. The charging current
enters the charge balance only: the ions that charge the double layer are, in the
tertiary model, the eliminated (last) species; in the supporting model no species.

Everything here is SI: V, A/m^2, ohm m^2, S/m, m, F/m^2, C/m^2, mol/m^3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from femli.physics.kinetics import Inert, Kinetics

if TYPE_CHECKING:
    from femli.physics.electrolyte import Electrolyte

__all__ = [
    "DoubleLayer",
    "Film",
    "Reaction",
    "reactions_of",
]

#: Largest mismatch accepted in a reaction's charge balance ``sum_j z_j s_j = 1``.
STOICHIOMETRY_TOL = 1.0e-9


@dataclass(slots=True, frozen=True)
class Reaction:
    """One electrode reaction on a boundary.

    Args:
        kinetics: the law ``i(eta, f, c/c_ref)`` (A/m^2, anodic positive).
        equilibrium_potential: E_eq of this reaction (V); ``None``: the electrode's.
        stoichiometry: species name -> mol produced per mol of electrons released (the
            reaction written in the anodic direction; negative: consumed); ``None``:
            ``{reacting ion: 1/z}`` (Li -> Li+ + e-). The law's concentration factor
            always reads the electrolyte's reacting ion.
        deposits: the reaction deposits (cathodic) or strips (anodic) the electrode
            metal; growth moves the surface with the depositing reactions' current only.
        name: a label for outputs (``""``: numbered by position).
    """

    kinetics: Kinetics
    equilibrium_potential: float | None = None
    stoichiometry: Mapping[str, float] | None = None
    deposits: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        e_eq = self.equilibrium_potential
        if e_eq is not None and not abs(e_eq) < float("inf"):
            raise ValueError(f"reaction {self.name!r}: equilibrium_potential must be finite (V)")
        for species, s in (self.stoichiometry or {}).items():
            if not abs(s) < float("inf"):
                raise ValueError(
                    f"reaction {self.name!r}: stoichiometry of {species!r} must be finite"
                )

    @property
    def inert(self) -> bool:
        """True when the reaction carries no current."""
        return isinstance(self.kinetics, Inert)

    def production(self, electrolyte: Electrolyte) -> dict[str, float]:
        """Species name -> mol produced per mol of electrons released (anodic direction)."""
        if self.stoichiometry is not None:
            return dict(self.stoichiometry)
        ion = electrolyte.reacting_species
        return {ion.name: 1.0 / ion.charge}

    def check(self, electrolyte: Electrolyte) -> None:
        """Raise ``ValueError`` unless the species exist and the reaction conserves charge
        (``sum_j z_j s_j = 1``: one elementary charge per electron)."""
        names = [s.name for s in electrolyte.species]
        unknown = [n for n in self.production(electrolyte) if n not in names]
        if unknown:
            raise ValueError(
                f"reaction {self.name!r}: stoichiometry names no species {unknown} "
                f"(species: {names})"
            )
        charge = sum(
            electrolyte.species_named(n).charge * s for n, s in self.production(electrolyte).items()
        )
        if abs(charge - 1.0) > STOICHIOMETRY_TOL:
            raise ValueError(
                f"reaction {self.name!r}: stoichiometry {dict(self.production(electrolyte))} "
                f"carries {charge:g} elementary charges per electron; the sum of charge x "
                "stoichiometry must be 1 (written in the anodic direction, e.g. {'Li+' = 1})"
            )


@dataclass(slots=True, frozen=True)
class Film:
    """An ionically conducting surface film (SEI) in series with the reactions.

    Give ``resistance`` (ohm m^2), or ``thickness`` (m) and ``conductivity`` (S/m) with
    ``R = thickness / conductivity``. ``growth`` (ohm m^2 per C/m^2) makes the resistance
    grow with the charge density ``q`` passed through the film in time-dependent runs:
    ``R = R_0 + growth q``, with ``q = int |i_int| dt`` accumulated node by node.
    """

    resistance: float | None = None
    thickness: float | None = None
    conductivity: float | None = None
    growth: float = 0.0

    def __post_init__(self) -> None:
        layered = self.thickness is not None or self.conductivity is not None
        if (self.resistance is None) == (not layered):
            raise ValueError(
                "a film needs resistance (ohm m^2), or thickness (m) and conductivity (S/m)"
                ", not both"
            )
        if layered and (self.thickness is None or self.conductivity is None):
            raise ValueError(
                "a film given by its layer needs both thickness (m) and conductivity (S/m)"
            )
        for name in ("resistance", "thickness", "conductivity"):
            value = getattr(self, name)
            if value is not None and not 0 < value < float("inf"):
                raise ValueError(f"film {name} must be > 0 and finite, got {value}")
        if not 0 <= self.growth < float("inf"):
            raise ValueError(f"film growth must be >= 0 ohm m^2 per C/m^2, got {self.growth}")

    @property
    def initial_resistance(self) -> float:
        """R_0 in ohm m^2."""
        if self.resistance is not None:
            return self.resistance
        assert self.thickness is not None and self.conductivity is not None  # checked
        return self.thickness / self.conductivity

    def resistance_at(self, charge):
        """R (ohm m^2) after a passed charge density ``charge`` (C/m^2; UFL or numbers)."""
        return self.initial_resistance + self.growth * charge


@dataclass(slots=True, frozen=True)
class DoubleLayer:
    """The double-layer capacitance of an electrode, C_dl in F/m^2 (> 0).

    Its charging current ``C_dl d(delta)/dt`` (A/m^2) joins the reaction currents in
    time-dependent runs; in a steady state it vanishes.
    """

    capacitance: float

    def __post_init__(self) -> None:
        if not 0 < self.capacitance < float("inf"):
            raise ValueError(
                f"double-layer capacitance must be > 0 F/m^2 and finite, got {self.capacitance}"
            )

    def current(self, delta, rate, history):
        """Charging current (A/m^2): ``C_dl (rate delta + history)`` with the BDF
        ``rate = a0/h`` (1/s) and ``history = (a1 delta_n + a2 delta_n-1)/h`` (V/s)."""
        return self.capacitance * (rate * delta + history)


def reactions_of(law: Kinetics | Reaction | tuple[Reaction, ...]) -> tuple[Reaction, ...]:
    """The reactions a boundary's entry describes: a bare law is one depositing reaction
    at the electrode's equilibrium potential."""
    if isinstance(law, Reaction):
        return (law,)
    if isinstance(law, tuple):
        return law
    return (Reaction(law),)
