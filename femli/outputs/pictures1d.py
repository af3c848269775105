"""Pictures of 1D results with matplotlib (rank 0): a field along the cell and an
electrode, which in 1D is one point.

Lengths in um (x), current densities in mA/cm^2; each function returns its figure and
the :class:`~femli.outputs.colours.ColourScale` of the values it shows (the range its
axis spans), as the 2D and 3D pictures do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from femli.outputs.colours import ColourScale, colour_scale

__all__ = ["electrode_point", "profile"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _limits(ax, scale: ColourScale) -> None:
    """The value axis over the scale's range (a little more), its ticks the scale's."""
    pad = 0.05 * (scale.hi - scale.lo) or 0.05 * max(abs(scale.hi), 1e-30)
    ax.set_ylim(scale.lo - pad, scale.hi + pad)
    ax.set_yticks(list(scale.ticks), labels=list(scale.labels))


def profile(
    x: np.ndarray, values: np.ndarray, *, label: str, title: str
) -> tuple[Any, ColourScale]:
    """``values`` at positions ``x`` (um) along a 1D cell; ``label``: the value and its
    unit."""
    plt = _pyplot()
    x = np.asarray(x, dtype=float)
    order = np.argsort(x)
    values = np.asarray(values, dtype=float)
    scale = colour_scale(values)
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=120)
    ax.plot(x[order], values[order], "-", lw=1.4)
    _limits(ax, scale)
    ax.set_xlabel("x (um)")
    ax.set_ylabel(label)
    unit = label.rsplit("(", 1)[-1].rstrip(")") if "(" in label else ""
    ax.set_title("\n".join(s for s in (title, scale.note(unit)) if s), fontsize=9)
    fig.tight_layout()
    return fig, scale


def electrode_point(surface, values: np.ndarray, scale: ColourScale, text: str) -> Any:
    """A 1D electrode (a point, or points): its deposition current density (mA/cm^2,
    ``values``) at its position x (um); ``text`` the title."""
    plt = _pyplot()
    x = np.asarray(surface.points[:, 0])
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=120)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.vlines(x, 0.0, values, color="tab:blue", lw=2.0)
    ax.plot(x, values, "o", ms=7, color="tab:blue")
    for xi, v in zip(x, values, strict=True):
        ax.annotate(f"{v:.4g}", (xi, v), textcoords="offset points", xytext=(8, 0), va="center")
    lo, hi = min(scale.lo, 0.0), max(scale.hi, 0.0)
    _limits(ax, colour_scale(np.array([lo, hi])))
    ax.set_xlabel("x (um)")
    ax.set_ylabel("deposition current density (mA/cm$^2$)")
    ax.set_title(text, fontsize=9)
    fig.tight_layout()
    return fig
