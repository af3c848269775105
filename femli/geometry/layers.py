"""Layered current-collector stack (seed 002): substrate | porous layer | top layer |
electrolyte, 2D or 3D. Lengths in micrometres; y (2D) or z (3D) is up, substrate at 0.

The porous layer is one homogenised region (its ``porosity`` is passed on in ``features``
for effective-medium physics), not resolved particles.
"""

from __future__ import annotations

from dataclasses import dataclass

import gmsh
import numpy as np

from femli.geometry.core import (
    Geometry,
    add_groups,
    check_sizes,
    mass,
    mesh_and_measure,
    new_model,
    require,
    require_positive,
)
from femli.geometry.sizing import graded_field, set_background

_EPS = 1e-6
#: (cell name, thickness attribute), bottom to top.
LAYERS = (
    ("substrate", "substrate_thickness"),
    ("porous_layer", "porous_thickness"),
    ("top_layer", "top_thickness"),
    ("electrolyte", "electrolyte_height"),
)


#: Facet names of the inner solid | solid interfaces (below, above).
INTERFACES = {
    ("substrate", "porous_layer"): "substrate_porous",
    ("porous_layer", "top_layer"): "porous_top",
    ("substrate", "top_layer"): "substrate_top",
}


@dataclass(slots=True, frozen=True)
class LayeredStackParams:
    """Parameters of :func:`build_layered_stack` (lengths in um).

    Seed 002 defaults: Cu ``substrate_thickness`` 4.5, porous Ag-C ``porous_thickness`` 4
    (``porosity`` 0.5, homogenised), Ag ``top_thickness`` 0.2, then ``electrolyte_height``
    10. A layer of thickness 0 is left out (not the substrate or electrolyte). Mesh sizes:
    ``h_electrode`` (default min(0.2, thinnest layer/2)) at the interfaces, ``h_far``
    elsewhere, both divided by ``refinement``.
    """

    dim: int = 2
    width: float = 10.0
    depth: float = 10.0
    substrate_thickness: float = 4.5
    porous_thickness: float = 4.0
    top_thickness: float = 0.2
    electrolyte_height: float = 10.0
    porosity: float = 0.5
    h_electrode: float | None = None
    h_far: float = 1.0
    refinement: float = 1.0

    def __post_init__(self) -> None:
        require(self.dim in (2, 3), "dim", self.dim, "2 or 3")
        require_positive(
            width=self.width,
            depth=self.depth,
            substrate_thickness=self.substrate_thickness,
            electrolyte_height=self.electrolyte_height,
        )
        for name in ("porous_thickness", "top_thickness"):
            require(getattr(self, name) >= 0, name, getattr(self, name), ">= 0 (0 = no layer)")
        require(0 <= self.porosity < 1, "porosity", self.porosity, "in [0, 1)")
        h = self.sizes()[0]
        check_sizes(self.refinement, h_electrode=h, h_far=self.h_far)
        thin = min(t for _, t in self.layers())
        require(h <= thin / 2, "h_electrode", h, f"<= half the thinnest layer ({thin:g} um)")

    def layers(self) -> list[tuple[str, float]]:
        """(cell name, thickness) of the present layers, bottom to top."""
        return [(n, getattr(self, a)) for n, a in LAYERS if getattr(self, a) > 0]

    def sizes(self) -> tuple[float, float]:
        """(h_electrode, h_far) in um before division by ``refinement``."""
        thin = min(t for _, t in self.layers())
        h = self.h_electrode if self.h_electrode is not None else min(0.2, thin / 2)
        return h, self.h_far


def _facet_name(p: LayeredStackParams, tag: int, planes: list[tuple[str, int, float]]) -> str:
    d = p.dim - 1
    lo, hi = np.split(np.array(gmsh.model.getBoundingBox(d, tag)), 2)
    for name, axis, at in planes:
        if lo[axis] > at - _EPS and hi[axis] < at + _EPS:
            return name
    raise RuntimeError(f"facet {tag} of the layered stack lies on no known plane")


def build_layered_stack(params: LayeredStackParams) -> Geometry:
    """Mesh the stacked layers (2D or 3D).

    Groups: cells "substrate", "porous_layer", "top_layer" (when present) and
    "electrolyte". Facets "collector" (bottom of the substrate, y/z = 0), "electrode" (top of
    the uppermost solid layer, facing the electrolyte), "substrate_porous", "porous_top" or
    "substrate_top" (inner interfaces, when both sides exist), "bulk" (top),
    "wall_left"/"wall_right" and in 3D "wall_front"/"wall_back".
    """
    new_model("layered_stack")
    p, occ, d, up = params, gmsh.model.occ, params.dim - 1, params.dim - 1
    z, tags, names = 0.0, [], []
    planes = [("wall_left", 0, 0.0), ("wall_right", 0, p.width), ("collector", up, 0.0)]
    if p.dim == 3:
        planes += [("wall_front", 1, 0.0), ("wall_back", 1, p.depth)]
    for i, (name, t) in enumerate(p.layers()):
        if p.dim == 2:
            tags.append(occ.addRectangle(0, z, 0, p.width, t))
        else:
            tags.append(occ.addBox(0, 0, z, p.width, p.depth, t))
        names.append(name)
        z += t
        above = p.layers()[i + 1][0] if i + 1 < len(p.layers()) else None
        face = INTERFACES.get((name, above), "electrode" if above == "electrolyte" else "bulk")
        planes.append((face, up, z))
    occ.fragment([(p.dim, tags[0])], [(p.dim, t) for t in tags[1:]])
    occ.synchronize()
    facets: dict[str, list[int]] = {n: [] for n, _, _ in planes}
    for _, tag in gmsh.model.getEntities(d):
        facets[_facet_name(p, tag, planes)].append(tag)
    h, hfar = p.sizes()
    inner = [t for n, ts in facets.items() if not n.startswith("wall") for t in ts]
    set_background([graded_field(d, inner, h, hfar, p.refinement)], hfar / p.refinement)
    cells = add_groups(p.dim, {n: [t] for n, t in zip(names, tags, strict=True)})
    facet_groups = add_groups(d, facets)
    quality = mesh_and_measure(p.dim)
    feats = {
        "porosity": p.porosity,
        "layer_thickness": dict(p.layers()),
        "electrode_height": z - p.electrolyte_height,
        "electrode_measure": mass(d, facets["electrode"]),
        "h_min": h / p.refinement,
    }
    return Geometry("layered_stack", p.dim, cells, facet_groups, feats, quality, p)
