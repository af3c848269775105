"""Shape measures of a growing electrode (SI: m, m^2, m^3; in 2D per unit depth), for the
records of :class:`femli.growth.solver.GrowthSolver`. Collective."""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

__all__ = ["hotspot", "morphology"]


def morphology(growth) -> dict:
    """Deposited volume (without trapped electrolyte); heights and roughness over the whole
    electrode surface (depositing and passive parts, area weighted); depositing area and
    its ratio to the initial; hotspot index of the growth rate. Collective."""
    model = growth.model
    domain, comm = model.domain, model.domain.comm
    v, w, _ = growth.nodal_velocity()
    up = domain.mesh.geometry.dim - 1
    n_owned = model.space.dofmap.index_map.size_local
    coords = model.space.tabulate_dof_coordinates()[:n_owned, up]
    surface = growth.surface_weights()[:n_owned]
    mask = surface > 0
    heights, weights = coords[mask], surface[mask]
    sums = comm.allreduce(
        np.array([(heights * weights).sum(), weights.sum(), (heights**2 * weights).sum()]),
        op=MPI.SUM,
    )
    mean = sums[0] / sums[1]
    rms = np.sqrt(max(sums[2] / sums[1] - mean**2, 0.0))
    top = comm.allreduce(float(heights.max(initial=-np.inf)), op=MPI.MAX)
    area = domain.measure(*growth.depositing)
    return {
        "deposited_volume": growth.volume0 - domain.measure(boundary=False) - growth.trapped,
        "mean_height": mean,
        "max_height": top,
        "roughness_rms": rms,
        "area": area,
        "area_ratio": area / growth.area0,
        "hotspot_index": hotspot(comm, v[:n_owned], w[:n_owned]),
    }


def hotspot(comm: MPI.Comm, v: np.ndarray, w: np.ndarray) -> float:
    """Largest over weighted-mean nodal growth rate (owned nodes' ``v`` in m/s, boundary
    weights ``w``); NaN when the mean is zero. Collective."""
    mask = w > 0
    vmax = comm.allreduce(float(v[mask].max(initial=-np.inf)), op=MPI.MAX)
    sums = comm.allreduce(np.array([(v * w).sum(), w.sum()]), op=MPI.SUM)
    mean = sums[0] / sums[1]
    return vmax / mean if mean != 0 else float("nan")
