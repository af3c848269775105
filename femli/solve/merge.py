"""Merging deposits during 2D growth (collective): the boundary loops go to rank 0, every
pinch narrower than the merge gap is cut (:func:`femli.geometry.merge.fuse`), enclosed
electrolyte pockets are dropped (their area is reported as trapped), and the fused shape
is meshed afresh. Lengths handed to Gmsh are in um; returned quantities are SI.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import gmsh
import numpy as np

from femli.geometry import gmsh_session
from femli.geometry.merge import deposit_seeds, fuse, loop_arrays
from femli.geometry.remesh import build_from_loops
from femli.mesh import Domain, from_gmsh_model
from femli.solve.remesh import boundary_edges, boundary_loops, keep_names
from femli.units import MESH_UNIT

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
) -> tuple[Domain, list[dict]] | None:
    """Fuse deposits closer than ``gap`` (um) and remesh; None when nothing touches.

    Events: ``deposits`` (seed ids), ``with`` (seed ids or a boundary name),
    ``point_um``, ``gap_um``, ``trapped`` (m^2 per unit depth). Collective.
    """
    if domain.dim != 2:
        raise NotImplementedError("merging deposits is implemented for 2D domains")
    edges = boundary_edges(domain)
    loops, events, error = [], [], None
    if domain.comm.rank == 0:
        try:
            for loop in boundary_loops(edges):
                fused, found = fuse(loop, moving, anchors, gap, seeds)
                loops.append(fused)
                events += found
        except Exception as err:  # reported on every rank below
            error = err
    events, error = domain.comm.bcast((events, error), root=0)
    if error is not None:
        raise error
    if not events:
        return None
    cell_name = next(iter(domain.cell_names), "electrolyte")
    with gmsh_session():
        if domain.comm.rank == 0:
            try:
                build_from_loops(loops, moving, cell_name, *sizes)
            except Exception as err:
                error = err
        error = domain.comm.bcast(error, root=0)
        if error is not None:
            raise error
        new = keep_names(from_gmsh_model(gmsh.model, domain.comm, 2), domain)
    return new, [_si(e) for e in events]


def merge_deposits(growth) -> bool:
    """Fuse the touching deposits of a :class:`~femli.solve.growth.GrowthSolver` (its
    ``merge_gap``), carry the state over and record the events; False if none touch."""
    anchors = [b for bulk in growth.model.bulk for b in bulk.boundaries]
    gap = growth.options.merge_gap / MESH_UNIT
    domain = growth.model.domain
    found = merge_remesh(domain, growth.depositing, anchors, growth.sizes, gap, growth.seeds)
    if found is None:
        return False
    new, events = found
    growth._replace(new)
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


def _si(event: dict) -> dict:
    return {
        "deposits": event["deposits"],
        "with": event["with"],
        "point_um": event["point"],
        "gap_um": event["gap"],
        "trapped": float(event["trapped"]) * MESH_UNIT**2,
    }
