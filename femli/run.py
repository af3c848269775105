"""One case, end to end: configuration -> geometry -> mesh -> physics -> solve -> outputs.

:func:`run_case` is what ``femli run CASE.toml`` and ``femli demo`` call, and what a
parameter-study script calls; all three give identical results. Collective: every
rank calls it; rank 0 writes shared files.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import tomli_w
from mpi4py import MPI

from femli import config as cfg
from femli.mesh import Domain, build_domain, read_msh
from femli.outputs.features import footprint_area
from femli.outputs.fields import write_fields
from femli.outputs.files import atomic_write_bytes
from femli.outputs.growth import GrowthRecorder
from femli.outputs.progress import TimeProgress
from femli.outputs.report import write_stationary_outputs
from femli.physics.model import CellModel
from femli.solve.growth import GrowthOptions, GrowthSolver, Metal
from femli.solve.stationary import StationaryOptions, StationarySolver
from femli.solve.transient import TransientSolver
from femli.units import um

log = logging.getLogger(__name__)


def geometry_params(geometry: cfg.GeometryConfig) -> tuple[str, dict]:
    """Builder kind and parameters of a geometry block (preset values overridden)."""
    from femli.geometry import load_preset

    params: dict = {}
    kind = geometry.kind
    if geometry.preset is not None:
        kind_preset, params = load_preset(geometry.preset)
        kind = kind or kind_preset
    params.update(geometry.params)
    return kind, params


def make_domain(config: cfg.CaseConfig, comm: MPI.Comm, base: Path) -> tuple[Domain, dict]:
    """Mesh the case's geometry (or read its mesh file, relative to ``base``). Collective."""
    g = config.geometry
    if g.mesh is not None:
        path = Path(g.mesh) if Path(g.mesh).is_absolute() else base / g.mesh
        domain = read_msh(path, comm)
        return domain, {"mesh": str(path)}
    kind, params = geometry_params(g)
    return build_domain(kind, comm, **params)


def make_model(config: cfg.CaseConfig, domain: Domain) -> CellModel:
    """The cell model a case describes on ``domain``."""
    footprint = footprint_area(domain)
    electrodes = [cfg.electrode(e, footprint) for e in config.electrodes]
    bulk = [cfg.bulk(b) for b in config.bulk]
    return CellModel(domain, cfg.electrolyte(config), electrodes, bulk)


def run_case(
    config: cfg.CaseConfig, output: Path, comm: MPI.Comm = MPI.COMM_WORLD, base: Path = Path()
) -> dict:
    """Run a validated case into ``output``; returns the metrics written to metrics.json."""
    output = Path(output)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    domain, summary = make_domain(config, comm, base)
    timings["mesh"] = time.perf_counter() - clock
    log.info(
        "mesh: %d cells, %d vertices (%.2f s)",
        domain.num_cells_global(),
        domain.num_vertices_global(),
        timings["mesh"],
    )
    clock = time.perf_counter()
    model = make_model(config, domain)
    if config.growth is not None:
        solver = GrowthSolver(model, growth_options(config))
        timings["setup"] = time.perf_counter() - clock
        clock = time.perf_counter()
        extra = run_growth(config, solver, output)
    elif config.time is None:
        s = config.solver
        solver = StationarySolver(
            model, StationaryOptions(s.preset, s.initial_guess, s.max_continuation_steps)
        )
        timings["setup"] = time.perf_counter() - clock
        clock = time.perf_counter()
        solver.solve()
        extra: dict = {}
    else:
        solver = TransientSolver(model, cfg.transient_options(config))
        timings["setup"] = time.perf_counter() - clock
        clock = time.perf_counter()
        extra = run_transient(config, solver, output)
    timings["solve"] = time.perf_counter() - clock
    stats = solver.newton.stats.as_dict()
    log.info("solved: %d unknowns, %s (%.2f s)", model.num_dofs(), stats, timings["solve"])
    return write_outputs(config, solver, output, timings, summary, started, extra)


def growth_options(config: cfg.CaseConfig) -> GrowthOptions:
    """Growth controls of a case with a ``[growth]`` block (SI)."""
    g, s = config.growth, config.solver
    metal = Metal(g.molar_mass, g.density, g.charge)
    names = [b for e in config.electrodes for b in e.kinetics]
    return GrowthOptions(
        t_end=g.t_end,
        max_displacement=um(g.max_displacement),
        min_quality=g.min_quality,
        metals=dict.fromkeys(names, metal),
        snapshots=tuple(sorted({*g.snapshots, g.t_end})),
        stationary=StationaryOptions(s.preset, s.initial_guess, s.max_continuation_steps),
    )


def run_growth(config: cfg.CaseConfig, solver: GrowthSolver, output: Path) -> dict:
    """Grow with snapshots and a time series; returns the growth summary. Collective."""
    recorder = GrowthRecorder(output, config.output.renders, config.output.fields)
    with TimeProgress(config.growth.t_end, solver.model.domain.comm) as progress:
        records = solver.run(callback=lambda g, r: (recorder(g, r), progress(g, r)))
    recorder.finish(records, solver.model.domain.comm)
    final = {k: v for k, v in records[-1].items() if k != "snapshot"}
    return {"growth": {**final, "steps": len(records) - 1, "initial": records[0]}}


def run_transient(config: cfg.CaseConfig, solver: TransientSolver, output: Path) -> dict:
    """March in time with a progress bar; writes ``time_series.csv``. Collective."""
    comm = solver.model.domain.comm
    with TimeProgress(config.time.t_end, comm) as progress:
        records = solver.run(callback=progress)
    if comm.rank == 0:
        atomic_write_bytes(output / "time_series.csv", time_series_csv(records).encode())
    return {
        "transient": {
            "t_final": solver.t,
            "steps": len(records) - 1,
            "stop_reason": solver.stop_reason,
            "depletion_time": solver.depletion_time,
        }
    }


def time_series_csv(records: list[dict]) -> str:
    """Flatten transient records into CSV text (SI units in the headers)."""
    electrodes = list(records[0]["potential"])
    head = ["step", "t_s", "dt_s", "newton_iterations", "rejected"]
    for name in electrodes:
        head += [f"potential_V_{name}", f"current_A_{name}", f"c_min_mol_m3_{name}"]
    lines = [",".join(head)]
    for r in records:
        row = [r["step"], r["t"], r["dt"], r["newton_iterations"], r["rejected"]]
        for name in electrodes:
            row += [r["potential"][name], r["current"][name], r["c_min"].get(name, "")]
        lines.append(",".join(f"{v:.10g}" if isinstance(v, float) else str(v) for v in row))
    return "\n".join(lines) + "\n"


def write_outputs(
    config, solver, output: Path, timings: dict, summary: dict, started: str, more: dict
) -> dict:
    """Effective config, fields, metrics, tables and pictures. Collective."""
    comm = solver.model.domain.comm
    if comm.rank == 0:
        atomic_write_bytes(output / "config.toml", tomli_w.dumps(config.effective()).encode())
    clock = time.perf_counter()
    if config.output.fields:
        write_fields(solver.model, output)
    timings["fields"] = time.perf_counter() - clock
    extra = {
        "case": config.name,
        "config_sha256": config.digest(),
        "geometry": summary,
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "completed",
        **more,
    }
    metrics = write_stationary_outputs(solver, output, timings, extra, config.output.renders)
    log.info("results in %s", output)
    return metrics
