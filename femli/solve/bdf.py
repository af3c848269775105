"""Time-step controls and variable-step BDF formulas (pure data and functions, SI times).

A BDF step of size ``h`` (s) writes ``dc/dt ~ (a0 c_{n+1} + a1 c_n + a2 c_{n-1}) / h``.
Variable-step BDF2 is zero-stable for step ratios below ``1 + sqrt 2``. The local error
of a step is estimated from corrector minus polynomial predictor (Milne's device).
Used by :mod:`femli.solve.transient` (fixed shape) and :mod:`femli.growth.chemistry` (growth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    "BDF2_MAX_RATIO",
    "StepSizes",
    "TransientOptions",
    "bdf_coefficients",
    "error_weight",
    "extrapolate",
]

#: Largest zero-stable step ratio of variable-step BDF2.
BDF2_MAX_RATIO = 1.0 + math.sqrt(2.0)


class StepSizes(NamedTuple):
    """The time steps of a transient run (s), defaults filled in."""

    dt_min: float
    dt_initial: float
    dt_max: float


@dataclass(slots=True)
class TransientOptions:
    """Controls of a transient run (times in s).

    Args:
        t_end: final time (> 0).
        dt_initial: first step (default ``1e-5 t_end``).
        dt_min: smallest step before giving up (default ``1e-8 t_end``).
        dt_max: largest step (default ``0.1 t_end``).
        scheme: ``bdf2`` (variable step, BDF1 first step) or ``bdf1``.
        tolerance: target local time-stepping error, max norm of the estimate over
            the concentration nodes relative to each species' bulk concentration.
        max_change: largest relative concentration change per step.
        max_growth: largest step growth factor per step (> 1; <= 1 + sqrt 2 for bdf2).
        safety: factor on the step predicted by the error estimate (0 < safety <= 1).
        preset: linear-solver preset (``auto``, ``direct``, ``iterative``).
        current_rtol: relative tolerance on galvanostatic currents.
        max_control_iterations: Broyden iterations of the galvanostatic control.
        petsc_overrides: extra PETSc options.
        stop_when_depleted: stop when the reacting species' concentration at any
            electrode node falls below this fraction of its bulk value (in (0, 1)),
            reporting the crossing time by linear interpolation within the step.
    """

    t_end: float
    dt_initial: float | None = None
    dt_min: float | None = None
    dt_max: float | None = None
    scheme: str = "bdf2"
    tolerance: float = 1.0e-4
    max_change: float = 0.1
    max_growth: float = 2.0
    safety: float = 0.9
    preset: str = "auto"
    current_rtol: float = 1.0e-8
    max_control_iterations: int = 40
    petsc_overrides: dict | None = None
    stop_when_depleted: float | None = None

    def __post_init__(self) -> None:
        if not self.t_end > 0:
            raise ValueError(f"t_end must be > 0 s, got {self.t_end}")
        self._default_steps()
        steps = self.steps
        if not 0 < steps.dt_min <= steps.dt_initial <= steps.dt_max:
            raise ValueError(
                "time steps must satisfy 0 < dt_min <= dt_initial <= dt_max, got "
                f"dt_min={self.dt_min}, dt_initial={self.dt_initial}, dt_max={self.dt_max} s"
            )
        if self.scheme not in ("bdf1", "bdf2"):
            raise ValueError(f"scheme must be 'bdf1' or 'bdf2', got {self.scheme!r}")
        for name in ("tolerance", "max_change", "current_rtol"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        limit = BDF2_MAX_RATIO if self.scheme == "bdf2" else math.inf
        if not 1 < self.max_growth <= limit:
            raise ValueError(
                f"max_growth must be in (1, {limit:.4g}] for {self.scheme} "
                f"(zero stability), got {self.max_growth}"
            )
        if not 0 < self.safety <= 1:
            raise ValueError(f"safety must be in (0, 1], got {self.safety}")
        frac = self.stop_when_depleted
        if frac is not None and not 0 < frac < 1:
            raise ValueError(f"stop_when_depleted must be in (0, 1), got {frac}")

    def _default_steps(self) -> None:
        """Fill unset steps from t_end, consistent with the ones given."""
        if self.dt_max is None:
            self.dt_max = max(0.1 * self.t_end, self.dt_initial or 0.0)
        if self.dt_initial is None:
            self.dt_initial = min(max(1.0e-5 * self.t_end, self.dt_min or 0.0), self.dt_max)
        if self.dt_min is None:
            self.dt_min = min(1.0e-8 * self.t_end, self.dt_initial)

    @property
    def steps(self) -> StepSizes:
        """``dt_min``, ``dt_initial`` and ``dt_max`` (s): given or filled in on construction."""
        dt_min, dt_initial, dt_max = self.dt_min, self.dt_initial, self.dt_max
        assert dt_min is not None and dt_initial is not None and dt_max is not None  # set
        return StepSizes(dt_min, dt_initial, dt_max)


# -- BDF formulas (pure functions) ---------------------------------------------------
def bdf_coefficients(h: float, h_prev: float | None) -> tuple[float, float, float]:
    """``(a0, a1, a2)`` with ``dc/dt ~ (a0 c_{n+1} + a1 c_n + a2 c_{n-1}) / h``.

    BDF1 when ``h_prev`` is ``None``, else variable-step BDF2 with ``w = h / h_prev``.
    """
    if h_prev is None:
        return 1.0, -1.0, 0.0
    w = h / h_prev
    return (1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w)


def extrapolate(times: list[float], values: list[np.ndarray], t: float) -> np.ndarray:
    """Lagrange extrapolation to ``t`` of the polynomial through ``(times, values)``."""
    out = np.zeros_like(values[0])
    for j, (tj, vj) in enumerate(zip(times, values, strict=True)):
        weight = 1.0
        for m, tm in enumerate(times):
            if m != j:
                weight *= (t - tm) / (tj - tm)
        out += weight * vj
    return out


def error_weight(order: int, h: float, h1: float, h2: float = 0.0) -> float:
    """Milne factor: local error ~ weight * (corrector - predictor).

    The predictor is the degree-``order`` polynomial through the last ``order + 1``
    states (steps ``h1 = t_n - t_{n-1}``, ``h2 = t_{n-1} - t_{n-2}``); the corrector is
    BDF``order`` with step ``h``. Exact when the solution is a polynomial of degree
    ``order + 1``; 2/11 for constant-step BDF2, 1/3 for constant-step BDF1.
    """
    if order == 1:
        return h / (2 * h + h1)
    return h * (h + h1) / (h * (h + h1) + (2 * h + h1) * (h + h1 + h2))
