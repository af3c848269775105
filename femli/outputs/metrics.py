"""Current-distribution statistics on an electrode surface (hotspot metrics).

Statistics are area weighted over the nodes of the electrode (lumped boundary
measure), so a refined mesh patch does not bias them. Values are in A/m^2. Sign
convention (the one of metrics.json): electrode currents are anodic positive, as in
case files; every key naming *deposition* is the deposition current, positive when
metal deposits (``-i``). Every key and its unit: ``femli/outputs/metrics.schema.json``
(:mod:`femli.outputs.metrics_format`).

Per-part and per-feature current statistics, and footprint normalisation.

A *part* is one named boundary of an electrode (``nuclei``, ``substrate``); a
*feature* is one connected piece of a part (one nucleus, one asperity). Features are
found by connecting facets that share a vertex (exact, from the mesh). The
*footprint* is the electrode's projection on the base plane: the lateral extent of
the domain (m^2; in 2D m^2 per m of depth); footprint current densities are what an experiment
measures as "mA/cm2".

Everything written for a solved stationary case: metrics, tables, fields, pictures.

Collective: every rank calls :func:`write_stationary_outputs`; data are gathered and
only rank 0 writes files (each atomically). Units: SI in files unless a column
name says otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import dolfinx
import numpy as np
from mpi4py import MPI

from femli.mesh import Domain
from femli.outputs import pictures
from femli.outputs.files import atomic_write_bytes, atomic_write_json, require_space
from femli.outputs.metrics_format import METRICS_VERSION, upgrade
from femli.outputs.quantities import ma_cm2, p1_values
from femli.outputs.status import git_commit, software_versions
from femli.parallel import on_root
from femli.physics.derived import SurfaceValues
from femli.units import to_um

__all__ = [
    "PICTURE_BYTES",
    "describe",
    "electrode_metrics",
    "gather_surface",
    "part_statistics",
    "surface_statistics",
    "total_current",
    "vertex_components",
    "weighted_quantile",
    "write_stationary_outputs",
    "write_surface_csv",
]


def gather_surface(values: SurfaceValues, comm: MPI.Comm) -> SurfaceValues:
    """Collect every rank's owned nodal values on all ranks. Collective."""
    parts = comm.allgather(values)
    return SurfaceValues(
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.weights for p in parts]),
        np.concatenate([p.coords for p in parts]),
        np.concatenate([p.part for p in parts]),
        np.concatenate([p.overpotential for p in parts]),
    )


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Area-weighted quantile ``q`` in [0, 1] of ``x``."""
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    return float(np.interp(q * cum[-1], cum - 0.5 * w[order], x[order]))


def surface_statistics(values: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Hotspot statistics of a (deposition-positive) current density (A/m^2) over a
    surface with nodal area ``weights`` (m^2; m^2 per m of depth in 2D).

    Returns the area-weighted mean, max, min and 95th percentile (A/m^2), the hotspot
    index (max / mean), the coefficient of variation (area-weighted std / |mean|), the
    area fraction above twice the mean and the area (keys of metrics.json, see
    ``femli/outputs/metrics.schema.json``).
    """
    w = np.asarray(weights, dtype=float)
    x = np.asarray(values, dtype=float)
    area = w.sum()
    mean = float((x * w).sum() / area)
    std = float(np.sqrt(((x - mean) ** 2 * w).sum() / area))
    tiny = np.finfo(float).tiny
    ratio = mean if abs(mean) > tiny else np.nan
    return {
        "mean_A_m2": mean,
        "max_A_m2": float(x.max()),
        "min_A_m2": float(x.min()),
        "p95_A_m2": weighted_quantile(x, w, 0.95),
        "hotspot_index": float(x.max() / ratio),
        "coefficient_of_variation": float(std / abs(ratio)),
        "area_fraction_above_2x_mean": float(w[x > 2.0 * mean].sum() / area),
        "area_m2": float(area),
    }


_ROUND = 1e-12  # m: coordinates closer than this are the same vertex


def _keys(points: np.ndarray) -> np.ndarray:
    """Coordinates (m) as integer rows: points closer than :data:`_ROUND` agree."""
    points = np.asarray(points, dtype=float)
    rows = points.reshape(-1, points.shape[-1])
    if rows.shape[1] < 3:  # 2D coordinates: z = 0, as the mesh geometry stores them
        rows = np.hstack([rows, np.zeros((len(rows), 3 - rows.shape[1]))])
    return np.round(rows / _ROUND).astype(np.int64)


def vertex_components(domain: Domain, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of boundary ``name`` (all ranks) as rounded coordinate keys (sorted
    rows, each vertex once: :func:`_keys`) and the connected component of each, numbered
    0, 1, ... in the order of each component's first key. Collective."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    mesh = domain.mesh
    fdim = domain.dim - 1
    facets = domain.facets(name)
    nodes = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)
    local = mesh.geometry.x[nodes] if facets.size else np.zeros((0, fdim + 1, 3))
    everything = np.concatenate(domain.comm.allgather(local)) if domain.comm.size > 1 else local
    keys, corners = np.unique(_keys(everything), axis=0, return_inverse=True)
    corners = corners.reshape(-1, fdim + 1)
    rows, cols = np.repeat(corners[:, 0], fdim), corners[:, 1:].ravel()
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(len(keys), len(keys)))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)
    renumber = np.empty(first.size, dtype=np.int64)
    renumber[np.argsort(first)] = np.arange(first.size)
    return keys, renumber[labels]


def _labels(points: np.ndarray, keys: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The component label of each point (m) from :func:`vertex_components`' ``keys``
    and ``labels``; -1 for a point that is no vertex there."""
    both, where = np.unique(np.vstack([keys, _keys(points)]), axis=0, return_inverse=True)
    table = np.full(len(both), -1, dtype=np.int64)
    table[where[: len(keys)]] = labels
    return table[where[len(keys) :]]


def part_statistics(domain: Domain, surface) -> dict:
    """Statistics of each part and of each feature of each part (deposition positive)."""
    out = {}
    for name in sorted(set(surface.part)):
        mask = surface.part == name
        values, weights = -surface.values[mask], surface.weights[mask]
        label = _labels(surface.coords[mask], *vertex_components(domain, name))
        features = []
        for c in np.unique(label[label >= 0]):
            sel = label == c
            area = float(weights[sel].sum())
            current = float((values[sel] * weights[sel]).sum())
            features.append(
                {
                    "area_m2": area,
                    "deposition_current_A": current,
                    "deposition_mean_A_m2": current / area,
                    "deposition_max_A_m2": float(values[sel].max()),
                }
            )
        currents = np.array([f["deposition_current_A"] for f in features])
        out[name] = {
            "deposition_current_density": surface_statistics(values, weights),
            "feature_count": len(features),
            "feature_current_cv": float(currents.std() / abs(currents.mean()))
            if currents.size and currents.mean()
            else 0.0,
            "per_feature": features,
        }
    return out


#: Room kept per picture, bytes (the 900 x 800 PNGs are typically 20-100 kB).
PICTURE_BYTES = 300_000


def total_current(solver, electrode) -> float:
    """The electrode's total current (A; A/m in 2D): a march's last record, which holds a
    double layer's charging current in that step (a finished march has left the model
    stationary, without it), else the present state's. Collective."""
    records = getattr(solver, "records", None)
    current = records[-1].get("current") if records else None
    if isinstance(current, dict) and electrode.name in current:
        return float(current[electrode.name])
    return solver.currents.total(electrode)


def electrode_metrics(solver, electrode) -> tuple[dict, SurfaceValues]:
    """Totals (anodic positive) and deposition-current statistics (deposition positive)
    of one electrode (keys and units: ``femli/outputs/metrics.schema.json``). Collective.

    Currents in A (A/m in 2D), anodic positive: ``total_current_A`` (every reaction and a
    double layer's charging), ``deposition_current_A`` (the reactions that deposit metal),
    ``current_efficiency`` (their ratio), ``reaction_currents_A`` (by reaction name). The
    surface statistics are of the depositing reactions' current density. After a march
    the total is its last record's (:func:`total_current`)."""
    currents = solver.currents
    model = solver.model
    surface = gather_surface(currents.nodal(electrode), model.domain.comm)
    stats = surface_statistics(-surface.values, surface.weights)
    footprint = model.domain.footprint_area()
    total = total_current(solver, electrode)
    deposition = currents.deposition(electrode)
    return {
        "total_current_A": total,
        "deposition_current_A": deposition,
        "current_efficiency": deposition / total if total else None,
        "reaction_currents_A": currents.reactions(electrode),
        "mean_current_density_A_m2": total / currents.area(electrode),
        "potential_V": float(model.potentials[electrode.name].value),
        "area_m2": currents.area(electrode),
        "mean_surface_overpotential_V": float(
            (surface.overpotential * surface.weights).sum() / surface.weights.sum()
        ),
        "deposition_current_density": stats,
        "footprint_area_m2": footprint,
        "footprint_deposition_current_density_A_m2": -total / footprint,
        "footprint_hotspot_index": stats["max_A_m2"] / (-total / footprint) if total else None,
        "parts": part_statistics(model.domain, surface),
    }, surface


def write_surface_csv(surface, path: Path) -> None:
    """Electrode nodes: coordinates (um), part, current density (A/m^2), weight."""
    buf = io.StringIO()
    dim = surface.coords.shape[1]
    cols = ["x_um", "y_um", "z_um"][:dim]
    buf.write(",".join([*cols, "boundary", "current_density_A_m2", "weight_m_or_m2"]) + "\n")
    order = np.lexsort(surface.coords.T[::-1])
    for k in order:
        xs = ",".join(f"{v:.6g}" for v in to_um(surface.coords[k]))
        buf.write(f"{xs},{surface.part[k]},{surface.values[k]:.8g},{surface.weights[k]:.6g}\n")
    atomic_write_bytes(path, buf.getvalue().encode())


def write_stationary_outputs(
    solver,
    output: Path,
    timings: dict,
    extra: dict,
    renders: bool = True,
    before_metrics: Callable[[], None] | None = None,
    scene: tuple | None = None,
) -> dict:
    """Write metrics.json, electrode CSVs and plots, renders. Returns the metrics.

    ``scene``: the gathered (grid, surfaces) of :func:`pictures.gather_scene` if the
    caller has them already (the field files use the same); gathered here otherwise.

    ``before_metrics`` runs on rank 0 after every other file, just before metrics.json
    (the completion marker), e.g. to finish ``provenance.json``.
    """
    model = solver.model
    comm = model.domain.comm
    metrics: dict = {
        "metrics_version": METRICS_VERSION,
        "model": model.model,
        "dim": model.domain.dim,
        "dofs": model.num_dofs(),
        "electrodes": {},
    }
    surfaces: dict[str, SurfaceValues] = {}
    for e in model.electrodes:
        metrics["electrodes"][e.name], surfaces[e.name] = electrode_metrics(solver, e)
    c = model.concentration(model.electrolyte.reacting)
    metrics["min_concentration_mol_m3"] = _global_min(c, model)
    metrics["solver"] = {"preset": solver.newton.preset, **solver.newton.stats.as_dict()}
    metrics["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
    metrics["software"] = software_versions()
    metrics["git_commit"] = git_commit()
    metrics["mpi_size"] = comm.size
    metrics.update(extra)
    if renders and scene is None:
        scene = pictures.gather_scene(solver)

    def files() -> None:
        output.mkdir(parents=True, exist_ok=True)
        count = 2 * len(surfaces) + 2 if renders else 0
        need = PICTURE_BYTES * count + sum(64 * s.values.size for s in surfaces.values())
        require_space(output, need + 2**16, "pictures, tables and metrics")
        for name, surface in surfaces.items():
            write_surface_csv(surface, output / f"surface_current_{name}.csv")
        if renders:
            assert scene is not None  # gathered above whenever renders is set
            pictures.write_pictures(scene, surfaces, output)
        if before_metrics is not None:
            before_metrics()
        atomic_write_json(output / "metrics.json", metrics)  # last: marks completion

    on_root(comm, files)  # a failure here is raised on every rank
    return metrics


def _global_min(expr, model) -> float:
    """The smallest nodal value of ``expr`` over all ranks. Collective."""
    values = p1_values(expr, model.space)
    local = float(values.min()) if values.size else np.inf
    return model.domain.comm.allreduce(local, op=MPI.MIN)


def describe(metrics: dict) -> str:
    """One line per electrode for the terminal (metrics.json of any version)."""
    metrics = upgrade(metrics)
    lines = []
    for name, e in metrics["electrodes"].items():
        d = e["deposition_current_density"]
        lines.append(
            f"{name}: mean deposition {ma_cm2(d['mean_A_m2']):.3g} mA/cm2, max "
            f"{ma_cm2(d['max_A_m2']):.3g} mA/cm2, hotspot index {d['hotspot_index']:.3f}, CV "
            f"{d['coefficient_of_variation']:.3f}, E = {e['potential_V'] * 1e3:.2f} mV"
        )
    return "\n".join(lines)
