"""Electrode kinetics: local reaction current density as a function of overpotential.

Convention: the local current density ``i_loc`` (A/m^2) is *anodic positive*
(Li -> Li+ + e-, stripping); deposition is negative. The surface overpotential is
``eta = E_s - phi_l - E_eq`` with ``E_s`` the electrode (metal) potential and
``phi_l`` the electrolyte potential, both in V. Each law returns a UFL expression
(or a float for numpy arrays) so the same code serves assembly and post-processing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import ufl

__all__ = [
    "ButlerVolmer",
    "Inert",
    "Kinetics",
    "Linear",
    "Tafel",
]


def _exp(x):
    return ufl.exp(x) if isinstance(x, ufl.core.expr.Expr) else np.exp(x)


@dataclass(slots=True, frozen=True)
class ButlerVolmer:
    """Butler-Volmer: ``i = i0 [exp(aa f eta) - (c/c_ref)^gamma exp(-ac f eta)]``.

    Args:
        exchange_current: i0 in A/m^2 (> 0).
        alpha_a: anodic transfer coefficient (> 0); not tied to ``1 - alpha_c``.
        alpha_c: cathodic transfer coefficient (> 0).
        concentration_dependent: multiply the cathodic branch by ``(c/c_ref)^gamma``
            (Li+ is the oxidised species; Li metal has unit activity).
        reference_concentration: c_ref in mol/m^3 (default: the bulk value).
        order: reaction order gamma on the cathodic branch.
    """

    exchange_current: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    concentration_dependent: bool = False
    reference_concentration: float | None = None
    order: float = 1.0

    def __post_init__(self) -> None:
        if not self.exchange_current > 0:
            raise ValueError(f"exchange_current must be > 0 A/m^2, got {self.exchange_current}")
        if not (self.alpha_a > 0 and self.alpha_c > 0):
            raise ValueError(
                f"transfer coefficients must be > 0, got alpha_a={self.alpha_a}, "
                f"alpha_c={self.alpha_c}"
            )

    def current(self, eta, f: float, c_ratio=1.0):
        """Local current density (A/m^2) at overpotential ``eta`` (V); ``f = F/RT``."""
        cathodic_factor = c_ratio**self.order if self.concentration_dependent else 1.0
        return self.exchange_current * (
            _exp(self.alpha_a * f * eta) - cathodic_factor * _exp(-self.alpha_c * f * eta)
        )

    def charge_transfer_resistance(self, f: float) -> float:
        """Linearised R_ct = 1/(i0 (aa + ac) f) in ohm m^2 at equilibrium."""
        return 1.0 / (self.exchange_current * (self.alpha_a + self.alpha_c) * f)


@dataclass(slots=True, frozen=True)
class Tafel:
    """One-branch Tafel law: ``i = -i0 (c/c_ref)^gamma exp(-ac f eta)`` (cathodic)
    or ``i = i0 exp(aa f eta)`` (anodic)."""

    exchange_current: float
    alpha: float = 0.5
    direction: Literal["cathodic", "anodic"] = "cathodic"
    concentration_dependent: bool = False
    reference_concentration: float | None = None
    order: float = 1.0

    def __post_init__(self) -> None:
        if not self.exchange_current > 0:
            raise ValueError(f"exchange_current must be > 0 A/m^2, got {self.exchange_current}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.direction not in ("cathodic", "anodic"):
            raise ValueError(f"direction must be 'cathodic' or 'anodic', got {self.direction!r}")

    def current(self, eta, f: float, c_ratio=1.0):
        """Local current density (A/m^2)."""
        if self.direction == "anodic":
            return self.exchange_current * _exp(self.alpha * f * eta)
        factor = c_ratio**self.order if self.concentration_dependent else 1.0
        return -self.exchange_current * factor * _exp(-self.alpha * f * eta)

    def charge_transfer_resistance(self, f: float) -> float:
        """Not defined at equilibrium for a one-branch law; returns inf."""
        return float("inf")


@dataclass(slots=True, frozen=True)
class Linear:
    """Linearised kinetics ``i = i0 (aa + ac) f eta`` = ``eta / R_ct``."""

    exchange_current: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    concentration_dependent: bool = False
    reference_concentration: float | None = None

    def __post_init__(self) -> None:
        if not self.exchange_current > 0:
            raise ValueError(f"exchange_current must be > 0 A/m^2, got {self.exchange_current}")
        if not (self.alpha_a > 0 and self.alpha_c > 0):
            raise ValueError("transfer coefficients must be > 0")

    def current(self, eta, f: float, c_ratio=1.0):
        """Local current density (A/m^2)."""
        return self.exchange_current * (self.alpha_a + self.alpha_c) * f * eta

    def charge_transfer_resistance(self, f: float) -> float:
        """R_ct in ohm m^2."""
        return 1.0 / (self.exchange_current * (self.alpha_a + self.alpha_c) * f)


@dataclass(slots=True, frozen=True)
class Inert:
    """No reaction: a blocked (passivated) electrode surface."""

    concentration_dependent: bool = False
    reference_concentration: float | None = None

    def current(self, eta, f: float, c_ratio=1.0):
        """Zero current."""
        return 0.0 * eta

    def charge_transfer_resistance(self, f: float) -> float:
        """Infinite."""
        return float("inf")


Kinetics = ButlerVolmer | Tafel | Linear | Inert
