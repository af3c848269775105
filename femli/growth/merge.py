"""Merging deposits during growth (collective). 2D: the boundary loops go to rank 0, every
pinch narrower than the merge gap is cut (:func:`femli.geometry.pinch.fuse`), enclosed
electrolyte pockets are dropped (their area is reported as trapped), and the fused shape
is meshed afresh. 3D: deposits about to touch (:func:`femli.growth.rebuild.contacts_3d`)
trigger a rebuild of the mesh from the level set of the electrode surface closed over the
merge gap (:func:`femli.growth.rebuild.rebuild_3d`), which drops the pockets it encloses
and restores the Faraday volume. Lengths handed to Gmsh are in um; returned quantities
are SI.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import gmsh
import numpy as np

from femli.geometry import gmsh_session
from femli.geometry.core import RemeshSizing
from femli.geometry.loops import build_from_loops
from femli.geometry.pinch import deposit_seeds, edge_deposits, fuse, loop_arrays, pinches
from femli.growth.motion import MeshMotionError
from femli.growth.rebuild import GRIDS, contacts_3d, rebuild_3d
from femli.growth.remesh import boundary_edges, boundary_loops
from femli.mesh import Domain, from_gmsh_model
from femli.parallel import on_root
from femli.units import to_um, um

__all__ = [
    "closest_contact",
    "merge_deposits",
    "merge_deposits_3d",
    "merge_remesh",
    "reason",
    "rebuild_growth",
    "seeds_2d",
    "touching_error",
]

log = logging.getLogger(__name__)


def seeds_2d(domain: Domain, moving: Sequence[str]) -> np.ndarray:
    """Centres (um) of the connected pieces of the moving boundary: deposit ids are
    indices into this array. Collective."""
    edges = boundary_edges(domain)
    seeds = None
    if domain.comm.rank == 0:
        found = [deposit_seeds(*loop_arrays(loop), moving) for loop in boundary_loops(edges)]
        seeds = np.concatenate([s.reshape(-1, 2) for s in found])
    return domain.comm.bcast(seeds, root=0)


def merge_remesh(
    domain: Domain,
    moving: Sequence[str],
    anchors: Sequence[str],
    sizes: tuple[float, float],
    gap: float,
    seeds: np.ndarray,
    sizing: RemeshSizing | None = None,
) -> tuple[Domain, list[dict]] | None:
    """Fuse deposits closer than ``gap`` (um) and remesh (``sizing``: the kept boundary sizes,
    :func:`~femli.growth.remesh.kept_sizes`, and the builder's grading); None when nothing touches.

    Events: ``deposits`` (seed ids), ``with`` (seed ids or a boundary name),
    ``point_um``, ``gap_um``, ``trapped`` (m^2 per unit depth). Collective.
    """
    if domain.dim != 2:
        raise NotImplementedError("merging deposits is implemented for 2D domains")
    edges = boundary_edges(domain)
    loops: list = []  # the fused loops, on rank 0

    def fuse_loops() -> list[dict]:
        events = []
        for loop in boundary_loops(edges):
            fused, found = fuse(loop, moving, anchors, gap, seeds)
            loops.append(fused)
            events += found
        return events

    events = on_root(domain.comm, fuse_loops)  # rank 0's error raised on every rank
    if not events:
        return None
    cell_name = next(iter(domain.cell_names), "electrolyte")
    with gmsh_session():
        on_root(domain.comm, lambda: build_from_loops(loops, moving, cell_name, *sizes, sizing))
        new = from_gmsh_model(gmsh.model, domain.comm, 2).keep_names(domain)
    return new, [_si(e) for e in events]


def merge_deposits(growth) -> bool:
    """Fuse the touching deposits of a :class:`~femli.growth.solver.GrowthSolver` (its
    ``merge_gap``, m), carry the state over and record the events; False if none touch."""
    anchors = [b for bulk in growth.model.bulk for b in bulk.boundaries]
    gap = to_um(growth.options.merge_gap)
    domain = growth.model.domain
    try:
        found = merge_remesh(
            domain, growth.depositing, anchors, growth.sizes, gap, growth.seeds, growth.sizing
        )
    except Exception as err:  # Gmsh, the loop geometry: raised on every rank alike
        raise touching_error(growth, f"merging deposits failed ({reason(err)})") from err
    if found is None:
        return False
    new, events = found
    growth.replace_domain(new)
    growth.remeshes += 1
    for event in events:
        growth.trapped += event["trapped"]
        growth.merges.append({"t": growth.t, **event})
        log.info(
            "t = %.4g s: deposit %s merged with %s (gap %.3g um), %.3g m^2 electrolyte trapped",
            growth.t,
            event["deposits"],
            event["with"],
            event["gap_um"],
            event["trapped"],
        )
    return True


def merge_deposits_3d(growth) -> bool:
    """3D: rebuild the mesh of a :class:`~femli.growth.solver.GrowthSolver` if deposits are
    about to touch (within its ``merge_gap``); False if none are. Collective."""
    gap = to_um(growth.options.merge_gap)
    events = contacts_3d(growth.model.domain, growth.depositing, gap, growth.seeds)
    if not events:
        return False
    rebuild_growth(growth, events)
    return True


def rebuild_growth(growth, events: list[dict], grids: Sequence[float] = GRIDS) -> None:
    """3D: a new mesh from the level set of the electrode surface (closed over the merge
    gap if deposits are about to touch: ``events``, their contacts in um), enclosing the
    electrolyte volume Faraday's law leaves; the state carried over, pockets and filled
    gaps counted as trapped, the events recorded; ``grids``: the level-set grid spacings
    to try (:func:`~femli.growth.rebuild.rebuild_3d`). Collective.

    Without contacts (a remesh for quality) the surface is not closed: closing would fill
    every concave corner sharper than the merge gap (a merged neck) again and again."""
    options, domain = growth.options, growth.model.domain
    gap = to_um(options.merge_gap) if options.merge_gap is not None and events else 0.0
    volume = to_um(growth.volume0 - growth.faraday - growth.trapped + growth.detached, 3)
    try:
        points = [e["point_um"] for e in events if e.get("point_um") is not None]
        contacts = np.array(points, dtype=float).reshape(-1, 3)
        new, found = rebuild_3d(
            domain,
            growth.depositing,
            growth.sizes,
            gap,
            volume,
            growth.seeds,
            contacts,
            growth.sizing,
            grids,
        )
    except Exception as err:  # Gmsh, the level set: raised on every rank alike
        raise touching_error(growth, f"rebuilding the mesh failed ({reason(err)})") from err
    growth.replace_domain(new, settled=True)  # its volume is Faraday's
    growth.remeshes += 1
    trapped, detached = um(found.trapped, 3), um(sum(found.islands), 3)
    log.info(
        "t = %.4g s: mesh rebuilt from the level set: %d cells, quality %.3f, electrolyte "
        "volume %.6g um^3 (target %.6g)",
        growth.t,
        new.num_cells_global(),
        growth.quality,
        to_um(new.measure(boundary=False), 3),
        volume - found.trapped + sum(found.islands),
    )
    growth.trapped += trapped
    growth.detached += detached
    if trapped and not events:
        events = [{"deposits": [], "with": "pocket", "point_um": None, "gap_um": 0.0}]
    for k, event in enumerate(events):
        share = trapped if k == 0 else 0.0
        growth.merges.append({"t": growth.t, **event, "trapped": share})
        log.info(
            "t = %.4g s: deposit %s merged with %s (gap %.3g um), %.3g m^3 electrolyte trapped",
            growth.t,
            event["deposits"],
            event["with"],
            event["gap_um"],
            share,
        )
    if detached:
        log.warning("t = %.4g s: %.3g m^3 of metal cut loose and dropped", growth.t, detached)


def closest_contact(
    domain: Domain, moving: Sequence[str], gap: float, seeds: np.ndarray | None
) -> dict | None:
    """The narrowest pinch (um) between different pieces of the boundary narrower than
    ``gap`` (um): ``gap_um``, ``deposits`` and ``with`` (seed ids or a boundary name);
    None if there is none. 2D; collective."""
    edges = boundary_edges(domain)
    best: dict | None = None
    if domain.comm.rank == 0:
        for loop in boundary_loops(edges):
            points, names = loop_arrays(loop)
            own = deposit_seeds(points, names, moving) if seeds is None else seeds
            found = pinches(points, names, moving, gap, 10.0)
            if not found:
                continue
            pinch = min(found, key=lambda p: p.gap)
            if best is None or pinch.gap < best["gap_um"]:
                ids = edge_deposits(points, names, moving, own)
                mine = ids[pinch.i] if names[pinch.i] in moving else ids[pinch.i - 1]
                other = list(ids[pinch.j]) if names[pinch.j] in moving else names[pinch.j]
                best = {"gap_um": pinch.gap, "deposits": list(mine), "with": other}
    return domain.comm.bcast(best, root=0)


def touching_error(growth, failure: str) -> MeshMotionError:
    """The error for a growing shape that could not be followed (``failure``: what went
    wrong, e.g. "remeshing failed (...)"): in 2D, which deposits touch and, without
    merging, the ``[growth] merge_gap_um`` that lets them merge. Collective."""
    t, options, domain = growth.t, growth.options, growth.model.domain
    if domain.dim != 2:
        hint = (
            f"set [growth] merge_gap_um (e.g. {2.5 * to_um(options.max_displacement):.3g}) to "
            "let deposits merge"
            if options.merge_gap is None
            else f"merge_gap_um = {to_um(options.merge_gap):g}: try a smaller max_displacement_um"
        )
        return MeshMotionError(f"{failure} at t = {t:.4g} s ({hint})")
    found = closest_contact(domain, growth.depositing, growth.sizes[0], growth.seeds)
    if found is None:
        return MeshMotionError(f"{failure} at t = {t:.4g} s")
    where = f"deposit {found['deposits']} is {found['gap_um'] * 1e3:.2g} nm from {found['with']}"
    if options.merge_gap is None:
        hint = 2.5 * to_um(options.max_displacement)
        return MeshMotionError(
            f"deposits touch at t = {t:.4g} s ({where}; {failure}): set [growth] "
            f"merge_gap_um (2D; e.g. {hint:.3g}) to let them merge"
        )
    return MeshMotionError(
        f"{failure} at t = {t:.4g} s where deposits touch ({where}; merge_gap_um = "
        f"{to_um(options.merge_gap):g}): try a larger merge_gap_um or a smaller "
        "max_displacement_um"
    )


def _si(event: dict) -> dict:
    return {
        "deposits": event["deposits"],
        "with": event["with"],
        "point_um": event["point"],
        "gap_um": event["gap"],
        "trapped": um(float(event["trapped"]), 2),
    }


def reason(err: Exception) -> str:
    """An exception as one line: its type and first line of text."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
