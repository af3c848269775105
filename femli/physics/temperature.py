"""Temperature dependence of transport and kinetic parameters (Arrhenius).

A property ``p`` (a diffusivity in m^2/s, a conductivity in S/m, an exchange current in
A/m^2, a film's conductance in S/m^2) given at the reference temperature ``T_ref`` (K)
is, at the run temperature ``T`` (K),

    p(T) = p(T_ref) exp(-(E_a / R) (1/T - 1/T_ref)),

with its activation energy ``E_a`` (J/mol, >= 0; 0: no dependence). The run temperature
is the electrolyte's (:attr:`femli.physics.electrolyte.Electrolyte.temperature`), which
also sets ``f = F/(R T)`` in the kinetics and the migration terms and the dilute
conductivity ``F^2/(R T) sum z^2 D c``. The case file's values are at
``electrolyte.reference_temperature``; :mod:`femli.case.build` scales them to the run
temperature with :class:`Arrhenius` before the physics objects are made, so the model
sees values at one temperature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from femli.units import GAS_CONSTANT, T_DEFAULT

__all__ = ["MAX_ACTIVATION_ENERGY", "Arrhenius"]

#: Largest activation energy accepted (J/mol): 1000 kJ/mol is far beyond any transport
#: or charge-transfer process (typical: 10-80 kJ/mol).
MAX_ACTIVATION_ENERGY = 1.0e6


@dataclass(slots=True, frozen=True)
class Arrhenius:
    """Arrhenius scaling of a property from ``reference_temperature`` (K).

    Args:
        activation_energy: E_a in J/mol, in [0, :data:`MAX_ACTIVATION_ENERGY`).
        reference_temperature: T_ref in K (> 0), where the property's value is given.
    """

    activation_energy: float = 0.0
    reference_temperature: float = T_DEFAULT

    def __post_init__(self) -> None:
        if not 0 <= self.activation_energy < MAX_ACTIVATION_ENERGY:
            raise ValueError(
                f"activation energy must be in [0, {MAX_ACTIVATION_ENERGY:g}) J/mol, got "
                f"{self.activation_energy}"
            )
        if not 0 < self.reference_temperature < math.inf:
            raise ValueError(
                f"reference temperature must be > 0 K, got {self.reference_temperature}"
            )

    def factor(self, temperature: float) -> float:
        """``p(T) / p(T_ref)`` at ``temperature`` (K, > 0)."""
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0 K, got {temperature}")
        inverse = 1.0 / temperature - 1.0 / self.reference_temperature
        return math.exp(-self.activation_energy / GAS_CONSTANT * inverse)
