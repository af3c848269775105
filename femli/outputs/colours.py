"""Colour scales for pictures: limits and tick labels that show the real range.

:func:`colour_scale` takes the values a picture colours by and returns the limits, the
tick values and labels to draw (:class:`ColourScale`). Labels get just enough digits to
tell every tick apart and to be within a tenth of a tick step of the value they mark
(:func:`tick_format`), so a range of 3.4901 to 3.4902 reads 3.49010 ... 3.49020, not
"3.49" at every tick, and 1 to 2 reads 1.00 ... 2.00, not "1.00e+0".

A field whose spread is below :data:`UNIFORM` times its mean magnitude is *uniform*:
its colour limits are widened to the mean +- :data:`UNIFORM` (so it shows in one
colour, not as coloured round-off) and :meth:`ColourScale.note` says "uniform within
x %" for the picture's title. Hotspots are nodes above :data:`HOTSPOT_THRESHOLD` times
the area-weighted mean deposition current density (:func:`hotspots`); none are marked
when the mean is not positive or the largest value stays below the threshold (a
hotspot index max/mean <= 1.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HOTSPOT_THRESHOLD",
    "UNIFORM",
    "ColourScale",
    "colour_scale",
    "hotspots",
    "tick_format",
]

#: Relative spread (max - min) / |mean| below which a field is shown as uniform.
UNIFORM = 1.0e-3
#: A node is a hotspot where its value exceeds this many times the area-weighted mean
#: (the local hotspot index, value / mean; the metrics' hotspot index is max / mean).
HOTSPOT_THRESHOLD = 1.2


@dataclass(frozen=True)
class ColourScale:
    """The colour limits, tick values and labels of one picture (the unit is the
    picture's). ``spread``: (max - min) / |mean| of the data (NaN for a zero mean)."""

    lo: float
    hi: float
    fmt: str
    ticks: tuple[float, ...]
    labels: tuple[str, ...]
    uniform: bool
    mean: float
    spread: float

    @property
    def limits(self) -> tuple[float, float]:
        """(lo, hi): the colour limits."""
        return self.lo, self.hi

    def note(self, unit: str) -> str:
        """What a title should add: "uniform within x % (mean v unit)", or nothing."""
        if not self.uniform:
            return ""
        return f"uniform within {100 * self.spread:.2g} % (mean {self.mean:.5g} {unit})"


def tick_format(lo: float, hi: float, n: int = 5) -> str:
    """A printf format for ``n`` ticks from ``lo`` to ``hi``: the fewest digits with which
    the labels differ from each other and from their values by under a tenth of a step.
    Fixed point for magnitudes in [1e-3, 1e5), else exponential."""
    ticks = np.linspace(lo, hi, max(n, 2))
    step = abs(hi - lo) / (max(n, 2) - 1)
    size = max(abs(lo), abs(hi))
    kind = "f" if size == 0 or 1e-3 <= size < 1e5 else "e"
    for digits in range(16):
        fmt = f"%.{digits}{kind}"
        labels = [fmt % v for v in ticks]
        close = all(abs(float(s) - v) <= 0.1 * step for s, v in zip(labels, ticks, strict=True))
        if len(set(labels)) == len(labels) and close:
            return fmt
    return f"%.15{kind}"


def colour_scale(
    values: Sequence[float] | np.ndarray,
    n_labels: int = 5,
    mean: float | None = None,
    limits: tuple[float, float] | None = None,
) -> ColourScale:
    """The colour scale of ``values`` (NaNs ignored); ``mean``: the mean the spread is
    compared with (default: the plain mean); ``limits``: fixed limits (one scale for
    several pictures or frames), else the data's range."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    mean = float(x.mean()) if mean is None and x.size else float(mean or 0.0)
    spread = (hi - lo) / abs(mean) if mean != 0 else float("nan")
    uniform = limits is None and (hi == lo or spread < UNIFORM)
    if limits is not None:
        lo, hi = (float(v) for v in limits)
    if uniform:
        centre = mean if mean != 0 else lo
        half = UNIFORM * abs(centre) if centre != 0 else 1.0
        lo, hi = centre - half, centre + half
    if hi <= lo:  # fixed limits of one value
        lo, hi = lo - max(abs(lo), 1.0) * UNIFORM, hi + max(abs(hi), 1.0) * UNIFORM
    fmt = tick_format(lo, hi, n_labels)
    ticks = tuple(float(v) for v in np.linspace(lo, hi, n_labels))
    labels = tuple(fmt % v for v in ticks)
    return ColourScale(lo, hi, fmt, ticks, labels, bool(uniform), mean, spread)


def hotspots(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mask of the hotspot nodes: value above :data:`HOTSPOT_THRESHOLD` times the
    ``weights``-averaged mean; none when that mean is not positive."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    total = weights.sum()
    mean = float((values * weights).sum() / total) if total > 0 else 0.0
    if not mean > 0:
        return np.zeros(values.shape, dtype=bool)
    return values > HOTSPOT_THRESHOLD * mean
