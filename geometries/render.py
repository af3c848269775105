"""Build every preset (``femli/geometry/presets/``), time it, render a small PNG into
``geometries/img/`` and rewrite the table of ``geometries/README.md``.

Run from the repository root: ``.venv/bin/python geometries/render.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import gmsh
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from femli.geometry import build_preset, gmsh_session, list_presets, load_preset

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
#: The gallery: this folder (README.md and img/).
GALLERY = Path(__file__).resolve().parent
HIDDEN = {"bulk", "wall_front", "wall_left", "wall_back", "wall_right", "host_top", "particle_top"}


def _nodes() -> dict[int, np.ndarray]:
    tags, xyz, _ = gmsh.model.mesh.getNodes()
    return dict(zip(tags.tolist(), xyz.reshape(-1, 3), strict=True))


def _group_elements(dim: int, tag: int) -> np.ndarray:
    conn = []
    for ent in gmsh.model.getEntitiesForPhysicalGroup(dim, tag):
        types, _, nodes = gmsh.model.mesh.getElements(dim, ent)
        for t, n in zip(types, nodes, strict=True):
            k = gmsh.model.mesh.getElementProperties(t)[3]
            conn.append(np.asarray(n).reshape(-1, k)[:, : dim + 1])
    return np.concatenate(conn) if conn else np.empty((0, dim + 1), dtype=int)


def render_2d(geo, path: Path) -> None:
    nodes = _nodes()
    fig, ax = plt.subplots(figsize=(3.2, 3.2), dpi=90)
    for i, (name, tag) in enumerate(geo.cell_groups.items()):
        tri = _group_elements(2, tag)
        ids, inv = np.unique(tri, return_inverse=True)
        xy = np.array([nodes[j][:2] for j in ids])
        ax.triplot(xy[:, 0], xy[:, 1], inv.reshape(-1, 3), lw=0.15, color=f"C{i}", label=name)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout(pad=0.1)
    fig.savefig(path)
    plt.close(fig)


def render_3d(geo, path: Path) -> None:
    import pyvista as pv

    nodes = _nodes()
    pl = pv.Plotter(off_screen=True, window_size=(360, 300))
    for i, (name, tag) in enumerate(geo.facet_groups.items()):
        if name in HIDDEN:
            continue
        tri = _group_elements(2, tag)
        ids, inv = np.unique(tri, return_inverse=True)
        pts = np.array([nodes[j] for j in ids])
        faces = np.column_stack([np.full(len(tri), 3), inv.reshape(-1, 3)]).ravel()
        pl.add_mesh(
            pv.PolyData(pts, faces),
            color=matplotlib.colors.to_hex(f"C{i}"),
            show_edges=False,
            label=name,
        )
    pl.add_legend(size=(0.3, 0.25))
    pl.camera_position = "iso"
    pl.screenshot(str(path))
    pl.close()


def main() -> None:
    rows = []
    with gmsh_session():
        for name in list_presets():
            kind, params = load_preset(name)
            t0 = time.perf_counter()
            geo = build_preset(name)
            dt = time.perf_counter() - t0
            png = GALLERY / "img" / f"{name}.png"
            (render_2d if geo.dim == 2 else render_3d)(geo, png)
            key = ", ".join(f"{k}={v}" for k, v in params.items() if k not in ("kind",))
            q = geo.quality
            rows.append(
                f"| `{name}` | {kind} | {geo.dim}D | {key} | {q.n_elements} | "
                f"{q.min_sicn:.2f} | {dt:.1f} | ![{name}](img/{name}.png) |"
            )
            print(name, kind, q.n_elements, f"{dt:.1f}s")
    readme = GALLERY / "README.md"
    text = readme.read_text()
    head, _, _ = text.partition("<!-- table -->")
    table = [
        "<!-- table -->",
        "| preset | kind | dim | parameters | elements | min SICN | build s | picture |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    readme.write_text(head + "\n".join(table))


if __name__ == "__main__":
    main()
