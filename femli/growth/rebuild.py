"""3D growth through topology change: a fresh electrolyte mesh from a level set of the
present electrode surface (collective; Gmsh and the level set on rank 0, lengths in um
there, SI outside).

The moving mesh carries the electrode surface between rebuilds (sharp and body-fitted
at every solve). A rebuild (:func:`rebuild_3d`) gathers the boundary triangles, sorts
them into the box's planes (walls, a passive flat substrate, the bulk: planar,
axis-aligned, not moving) and the sheet (everything else), makes the signed distance of
the sheet on a grid (:mod:`femli.growth.surface`), closes it with a ball of diameter
``merge_gap`` (deposits closer than that merge), drops electrolyte pockets cut off by
the merge (trapped) and metal cut loose (detached), contours it into labelled patches
(:mod:`femli.growth.contour`), and meshes the volume with the builders' size fields
(:func:`femli.geometry.triangulation.build_from_surfaces`), enclosing exactly the
electrolyte volume the caller asks for (Faraday's law). :func:`contacts_3d` finds
deposits about to merge: sheet vertices closer than ``CONTACT x merge_gap`` facing each
other (or a plane, i.e. their mirror image).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import gmsh
import numpy as np
from scipy.spatial import cKDTree

from femli.geometry import GeometryError, gmsh_session
from femli.geometry.core import RemeshSizing
from femli.geometry.isolate import in_child
from femli.geometry.triangulation import build_from_surfaces
from femli.growth.contour import Sheet, components, electrolyte_patches, electrolyte_volume
from femli.growth.remesh import boundary_surfaces
from femli.growth.surface import Plane, close, level_set, make_grid
from femli.mesh import Domain, from_gmsh_model
from femli.parallel import on_root

__all__ = [
    "CONTACT",
    "GRID",
    "RESCUE_GRIDS",
    "Rebuild",
    "contacts_3d",
    "planes_of",
    "rebuild_3d",
    "require_box",
    "seeds_3d",
]

log = logging.getLogger(__name__)

#: Contacts are deposits closer than this share of the merge gap (the closing bridges
#: the whole gap; a fillet of radius gap/2 it leaves is not taken for a new contact).
CONTACT = 0.8
#: The closing acts within this many merge gaps of the contacts.
REACH = 4.0
#: Level-set grid spacing as a share of the deposit element size.
GRID = 0.75
#: Grid spacings tried in turn when a rebuild's surface cannot be meshed (a plane face
#: pinched by merged deposits; another grid samples the pinch differently).
GRIDS = (GRID, 0.6)
#: The grids of the rebuilds that replace, in turn, a fresh mesh the next step could not
#: move (a sliver at a deposit's foot: another grid samples the surface differently).
RESCUE_GRIDS = (0.5, 0.4)
#: Facing: normals within ~53 degrees of opposite, the gap along them (a fillet of radius
#: gap/2 the closing leaves has chords below CONTACT x gap only within 106 degrees: cos > -0.3).
FACING = 0.6


@dataclass(slots=True)
class Rebuild:
    """What a rebuild changed (um^3): electrolyte ``pockets`` dropped, metal ``islands``
    dropped, and the electrolyte ``filled`` by the closing (the gaps between merging
    deposits, cavities smaller than the closing ball): trapped like the pockets."""

    pockets: list[float]
    islands: list[float]
    filled: float = 0.0

    @property
    def trapped(self) -> float:
        """Electrolyte enclosed by the merge (um^3): pockets and filled gaps."""
        return sum(self.pockets) + self.filled


def planes_of(points: np.ndarray, surfaces: dict[str, np.ndarray], moving: Sequence[str]):
    """The box's planes (planar, axis-aligned, non-moving boundaries on the bounding box,
    names sharing a plane together) and the sheet's names (the rest), from the gathered
    boundary (points um, name -> triangles)."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    tol = 1e-9 * float((hi - lo).max())
    found: dict[tuple[int, float, int], list[str]] = {}
    sheet = []
    for name, tris in surfaces.items():
        xyz = points[np.unique(tris)]
        flat = np.flatnonzero(np.ptp(xyz, axis=0) < tol) if len(xyz) else np.zeros(0, int)
        key = None
        if name not in moving and len(flat) == 1:
            a = int(flat[0])
            value = float(xyz[0, a])
            if abs(value - lo[a]) < tol or abs(value - hi[a]) < tol:
                key = (
                    a,
                    float(lo[a] if abs(value - lo[a]) < tol else hi[a]),
                    1 if abs(value - lo[a]) < tol else -1,
                )
        if key is None:
            sheet.append(name)
        else:
            found.setdefault(key, []).append(name)
    planes = [Plane(tuple(names), a, v, s) for (a, v, s), names in sorted(found.items())]
    return planes, sheet


def require_box(domain: Domain, moving: Sequence[str]) -> None:
    """Raise :class:`~femli.geometry.GeometryError` (on every rank) unless the 3D rebuild
    can handle ``domain``: planar, axis-aligned, non-moving side walls on all four sides
    and a flat bulk boundary on top. Collective."""
    gathered = boundary_surfaces(domain)

    def check() -> None:
        assert gathered is not None
        points, surfaces = gathered
        planes, _ = planes_of(points, surfaces, moving)
        sides = {(p.axis, p.side) for p in planes}
        missing = {(0, 1), (0, -1), (1, 1), (1, -1), (2, -1)} - sides
        if missing:
            raise GeometryError(
                "[growth] merge_gap_um in 3D rebuilds the mesh from a level set in a box: it "
                "needs planar, axis-aligned, non-moving side walls on all four sides and a flat "
                f"boundary on top; this geometry has {len(missing)} of them missing "
                "(allowed: a box-shaped cell such as the nucleus_array, box or fibres builders, "
                "or no merge_gap_um)"
            )

    on_root(domain.comm, check)


def seeds_3d(domain: Domain, moving: Sequence[str]) -> np.ndarray:
    """Centres (um) of the connected pieces of each moving boundary smaller than half
    the footprint (the nuclei): deposit ids index this array. Collective."""
    gathered = boundary_surfaces(domain)
    seeds = None
    if domain.comm.rank == 0:
        assert gathered is not None
        points, surfaces = gathered
        span = np.ptp(points[:, :2], axis=0)
        found = []
        for name in moving:
            tris = surfaces.get(name, np.zeros((0, 3), dtype=int))
            for part in _pieces(tris):
                xyz = points[np.unique(part)]
                if (np.ptp(xyz[:, :2], axis=0) < 0.75 * span).all():
                    found.append(xyz.mean(axis=0))
        seeds = np.array(found).reshape(-1, 3)
    return domain.comm.bcast(seeds, root=0)


def _pieces(tris: np.ndarray) -> list[np.ndarray]:
    """Triangles split into vertex-connected pieces."""
    if not len(tris):
        return []
    labels = components(tris, int(tris.max()) + 1)
    return [tris[labels == k] for k in np.unique(labels)]


def rebuild_3d(
    domain: Domain,
    moving: Sequence[str],
    sizes: tuple[float, float],
    gap: float,
    volume: float,
    seeds: np.ndarray,
    contacts: np.ndarray | None = None,
    sizing: RemeshSizing | None = None,
    grids: Sequence[float] = GRIDS,
) -> tuple[Domain, Rebuild]:
    """A fresh mesh of ``domain`` from the level set of its electrode surface, deposits
    closer than ``gap`` (um; 0: none) merged (only within ``REACH x gap`` of the
    ``contacts`` (k, 3) um, if given; ``sizing``: the boundaries that keep their size,
    :func:`~femli.growth.remesh.kept_sizes`, and the builder's grading), enclosing
    ``volume`` (um^3) less the pockets it drops and the gaps it fills, plus the metal cut
    loose. The level-set grid spacings tried in turn (shares of the deposit size):
    ``grids``; the level set's own triangles are kept (when Gmsh cannot reparametrise the
    surface) only on the last. Collective (Gmsh on rank 0)."""
    gathered = boundary_surfaces(domain)
    cell_name = next(iter(domain.cell_names), "electrolyte")

    def build() -> Rebuild:
        assert gathered is not None  # rank 0
        points, surfaces = gathered
        planes, sheet_names = planes_of(points, surfaces, moving)
        tris = np.concatenate([points[surfaces[n]] for n in sheet_names])
        top = next((p.value for p in planes if p.axis == 2 and p.side < 0), None)
        if top is None:
            raise ValueError("the 3D level-set rebuild needs a flat bulk boundary on top")
        sheet = _sheet(points, surfaces, sheet_names, planes, seeds)

        def attempt(h: float, last: bool) -> Rebuild:
            """The rebuild from a level set on a grid of spacing about ``h`` (um); kept
            level-set triangles only on the ``last`` grid (else a GeometryError)."""
            grid, cut = make_grid(
                planes, (float(tris[:, :, 2].min()), float(tris[:, :, 2].max())), h, top
            )
            band = 0.5 * gap + 3 * h
            phi = level_set(grid, planes, tris, band)
            before = None  # the electrolyte volume before the closing, if it closed any
            if gap > 0:
                near = None if contacts is None else (contacts, REACH * gap)
                closed = close(grid, phi, gap, band, near)
                if (closed < phi).any():
                    before = electrolyte_volume(grid, phi, planes, cut)
                phi = closed
            found = electrolyte_patches(grid, phi, planes, cut, sheet, sizes[1])
            filled = 0.0 if before is None else max(before - found.volume, 0.0)
            done = Rebuild(found.pockets, found.islands, filled)
            target = volume - done.trapped + sum(found.islands)
            alternatives = [found.unsplit] if found.unsplit else []
            build_from_surfaces(
                found.points,
                found.patches,
                moving,
                cell_name,
                *sizes,
                target,
                True,
                alternatives,
                sizing,
                keep_triangles=last,
            )
            return done

        *first, last = grids
        for share in first:
            try:
                return in_child(partial(attempt, share * sizes[0], False))
            except GeometryError as err:
                log.info("rebuild on a grid of %g x the deposit size failed (%s)", share, err)
        return in_child(partial(attempt, last * sizes[0], True))

    with gmsh_session():
        info = on_root(domain.comm, build)
        new = from_gmsh_model(gmsh.model, domain.comm, 3)
    assert info is not None
    return new.keep_names(domain), info


def _sheet(points, surfaces, sheet_names, planes: list[Plane], seeds) -> Sheet:
    """The old triangles' centroids and names for labelling the new surface."""
    centres = [points[surfaces[n]].mean(axis=1) for n in sheet_names]
    names = [np.full(len(c), n, dtype=object) for n, c in zip(sheet_names, centres, strict=True)]
    shared = [n for p in planes if len(p.names) > 1 for n in p.names]
    plane_centres = [points[surfaces[n]].mean(axis=1) for n in shared]
    return Sheet(
        np.concatenate(centres),
        np.concatenate(names),
        np.asarray(seeds, dtype=float).reshape(-1, 3),
        np.concatenate(plane_centres) if shared else np.zeros((0, 3)),
        np.concatenate(
            [np.full(len(c), n, dtype=object) for n, c in zip(shared, plane_centres, strict=True)]
        )
        if shared
        else np.zeros(0, dtype=object),
    )


def contacts_3d(domain: Domain, moving: Sequence[str], gap: float, seeds: np.ndarray) -> list[dict]:
    """Deposits about to merge: pairs of moving-surface vertices closer than
    ``CONTACT x gap`` (um) whose outward normals face each other, and vertices that close
    from a plane (their mirror image) facing it. Events: ``deposits`` (seed ids), ``with``
    (seed ids or a plane's name), ``point_um``, ``gap_um``. Collective."""
    gathered = boundary_surfaces(domain)

    def find() -> list[dict]:
        assert gathered is not None
        points, surfaces = gathered
        planes, _ = planes_of(points, surfaces, moving)
        tris = np.concatenate([surfaces[n] for n in moving if n in surfaces])
        ids = np.unique(tris)
        normal = _vertex_normals(points, tris)[ids]
        xyz = points[ids]
        owner = cKDTree(seeds).query(xyz)[1] if len(seeds) else np.zeros(len(ids), int)
        return _facing(xyz, normal, owner, CONTACT * gap) + _near_planes(
            xyz, normal, owner, planes, 0.5 * CONTACT * gap
        )

    found = on_root(domain.comm, find)
    assert found is not None
    return found


def _vertex_normals(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Unit area-weighted normals at the vertices (pointing out of the electrolyte)."""
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    face = np.cross(b - a, c - a)
    n = np.zeros_like(points)
    for k in range(3):
        np.add.at(n, tris[:, k], face)
    return n / np.maximum(np.linalg.norm(n, axis=1), 1e-300)[:, None]


def _facing(xyz, normal, owner, reach: float) -> list[dict]:
    """Closest facing vertex pair per pair of deposits within ``reach`` (um)."""
    pairs = cKDTree(xyz).query_pairs(reach, output_type="ndarray")
    if not len(pairs):
        return []
    p, q = pairs[:, 0], pairs[:, 1]
    d = xyz[q] - xyz[p]
    dist = np.linalg.norm(d, axis=1)
    u = d / np.maximum(dist, 1e-300)[:, None]
    opposed = np.einsum("ij,ij->i", normal[p], normal[q]) < -FACING
    across = (np.einsum("ij,ij->i", -normal[p], u) > FACING) & (
        np.einsum("ij,ij->i", normal[q], u) > FACING
    )
    ok = opposed & across
    best: dict[tuple[int, int], dict] = {}
    for i in np.flatnonzero(ok):
        a, b = sorted((int(owner[p[i]]), int(owner[q[i]])))
        key = (a, b)
        if key not in best or dist[i] < best[key]["gap_um"]:
            mid = 0.5 * (xyz[p[i]] + xyz[q[i]])
            best[key] = {
                "deposits": [key[0]],
                "with": [key[1]],
                "point_um": mid.tolist(),
                "gap_um": float(dist[i]),
            }
    return list(best.values())


def _near_planes(xyz, normal, owner, planes: list[Plane], reach: float) -> list[dict]:
    """Vertices within ``reach`` (um) of a side or bottom plane, off it, facing it."""
    events: dict[tuple[int, str], dict] = {}
    for plane in planes:
        if plane.axis == 2 and plane.side < 0:
            continue  # the bulk
        dist = (xyz[:, plane.axis] - plane.value) * plane.side
        toward = plane.side * normal[:, plane.axis]
        for i in np.flatnonzero((dist > 1e-9) & (dist < reach) & (toward > FACING)):
            key = (int(owner[i]), plane.names[0])
            if key not in events or 2 * dist[i] < events[key]["gap_um"]:
                events[key] = {
                    "deposits": [key[0]],
                    "with": plane.names[0],
                    "point_um": xyz[i].tolist(),
                    "gap_um": float(2 * dist[i]),
                }
    return list(events.values())
