"""Animated GIFs of an electrode over a run (rank 0): one fixed camera, axes in um and
one colour scale (the deposition current density over every frame) for the whole run.

3D frames are PyVista renders from above at an angle, 2D frames matplotlib profiles;
each frame is labelled with its time, and the GIF (Pillow) shows ``FRAME_MS`` per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from femli.outputs.colours import ColourScale, colour_scale
from femli.outputs.files import staged
from femli.outputs.pictures import (
    add_axes,
    dimension,
    electrode_scene,
    look_from_above,
    plotter,
)
from femli.outputs.pictures1d import electrode_point
from femli.outputs.pictures2d import electrode_figure, figure_rgb
from femli.outputs.quantities import DEPOSITION

__all__ = ["FRAME_MS", "frame_count", "union_bounds", "write_animation"]

#: Milliseconds each frame shows.
FRAME_MS = 250


def union_bounds(surfaces: Sequence) -> list[float]:
    """The bounds (um) holding every one of ``surfaces``."""
    b = np.array([s.bounds for s in surfaces], dtype=float)
    return [float(b[:, k].min()) if k % 2 == 0 else float(b[:, k].max()) for k in range(6)]


def write_animation(frames: Sequence[tuple[float, Any]], path: Path, *, title: str) -> ColourScale:
    """Write ``frames`` ((t in s, electrode surface) pairs) as an animated GIF at ``path``;
    returns the one colour scale of every frame. Rank 0."""
    from PIL import Image

    surfaces = [s for _, s in frames]
    values = np.concatenate([np.asarray(s.point_data[DEPOSITION]) for s in surfaces])
    scale = colour_scale(values)
    bounds = union_bounds(surfaces)
    if dimension(surfaces[0]) == 1:
        images = [_frame_1d(s, t, scale, title) for t, s in frames]
    elif dimension(surfaces[0]) == 2:
        images = [_frame_2d(s, t, scale, bounds, title) for t, s in frames]
    else:
        images = _frames_3d(frames, scale, bounds, title)
    pictures = [Image.fromarray(a).convert("P", palette=Image.Palette.ADAPTIVE) for a in images]
    with staged(path) as tmp:
        pictures[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=pictures[1:],
            duration=FRAME_MS,
            loop=0,
        )
    return scale


def _caption(title: str, t: float, scale: ColourScale) -> str:
    note = scale.note("mA/cm2")
    return "\n".join(s for s in (f"{title}   t = {t:.4g} s", note) if s)


def _frame_1d(surface, t: float, scale: ColourScale, title: str) -> np.ndarray:
    values = np.asarray(surface.point_data[DEPOSITION])
    return figure_rgb(electrode_point(surface, values, scale, _caption(title, t, scale)))


def _frame_2d(surface, t: float, scale: ColourScale, bounds, title: str) -> np.ndarray:
    values = np.asarray(surface.point_data[DEPOSITION])
    fig, ax = electrode_figure(surface, values, scale, bounds)
    ax.set_title(_caption(title, t, scale), fontsize=9)
    fig.set_size_inches(*fig.get_size_inches())  # every frame the same size
    return figure_rgb(fig)


def _frames_3d(frames, scale: ColourScale, bounds, title: str) -> list[np.ndarray]:
    p = plotter()
    images = []
    try:
        for k, (t, surface) in enumerate(frames):
            electrode_scene(p, surface, scale)
            if k == 0:
                add_axes(p, bounds)
                look_from_above(p, bounds)
            p.add_text(_caption(title, t, scale), font_size=10, color="black", name="caption")
            images.append(np.asarray(p.screenshot(return_img=True))[:, :, :3].copy())
    finally:
        p.close()
    return images


def frame_count(path: Path) -> int:
    """The number of frames of a GIF."""
    from PIL import Image

    with Image.open(path) as image:
        return int(getattr(image, "n_frames", 1))
