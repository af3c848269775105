"""Run a seed 003 growth case to t_end, or to the first honest stop, and keep everything.

    .venv/bin/python examples/seed003_growth/grow.py CASE.toml -o DIR [--gap-stop UM]
    .venv/bin/mpiexec -n 2 .venv/bin/python examples/seed003_growth/grow.py CASE.toml -o DIR
    .venv/bin/python examples/seed003_growth/grow.py CASE.toml -o DIR --restart

The same pipeline as ``femli run`` for a case with a ``[growth]`` block (the same
functions from :mod:`femli.pipeline`: geometry, model, growth options, recorder, outputs), plus
what ``femli run`` does not do (yet):

* a **contact monitor**: after every step the smallest distance between two different
  nuclei (connected pieces of the ``nuclei`` boundary) and twice the smallest distance
  of a nucleus to a side wall (the walls are mirror planes, so that is the distance to
  its mirror image) is measured, between mesh vertices (exact in 2D, where the feet of
  two nuclei are vertices on one line; an upper bound in 3D). When it drops below
  ``--gap-stop`` (default: 2.5 x the largest boundary displacement per step) the run
  stops: the next steps would merge deposits, a topology change neither the moving mesh
  nor the 2D remesher handles;
* a **clean stop**: if the mesh cannot follow the growth (inverted cells after every step
  cut, or quality below ``min_quality`` in 3D where there is no remeshing), the run stops
  with one message, and the outputs of the last valid state are written as usual
  (``metrics.json`` with ``growth.stop``, ``growth_series.csv/png``, fields, renders);
  ``femli run`` also stops with one line, but writes no ``metrics.json``;
* the **mesh-motion solve by LU** (MUMPS) instead of CG + GAMG, which stops the SCP@Li
  case at t = 61 s with an uncaught PETSc error (``--motion-solver femli`` restores it);
* **SIGINT / SIGTERM** (Ctrl-C, a batch system's stop): the run stops after the step it
  is in (and its checkpoint) and writes its outputs as for a clean stop (``growth.stop``
  kind ``interrupted``, exit status 4); a second signal ends it at once;
* **checkpoints** as ``femli run`` writes them (``[output] checkpoint_period`` /
  ``checkpoint_interval``), and ``--restart`` goes on from the last one in ``DIR``
  (``femli run --restart``'s checks: the same case's physics); the contact monitor's
  ``gaps.csv`` then starts at the restart;
* **surface profiles**: at every snapshot and at the final state, the anode surface
  (``nuclei`` and ``substrate`` facets, um) and the local current at the electrode
  nodes go to ``profiles/t<time>.npz`` for :mod:`analyse` (footprint height map,
  roughness, Fig. 3f/g-like cross-sections); the contact monitor's gaps per step go to
  ``gaps.csv``.

Exit code 0 when t_end is reached, 4 when the run stopped early (results written).
Collective: every rank runs it; rank 0 writes the files.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dolfinx_solver  # noqa: F401  (first: loads the MPI/PETSc libraries)
import numpy as np
from mpi4py import MPI
from scipy.spatial import cKDTree

from femli.case.build import growth_options, make_domain, make_model
from femli.case.checks import load_case, semantic_problems
from femli.checkpoint import remove_checkpoint
from femli.geometry import GeometryError
from femli.growth.motion import MeshMotionError
from femli.growth.recorder import GrowthRecorder
from femli.growth.solver import GrowthSolver
from femli.interrupt import check as check_interrupt
from femli.interrupt import stop_at_safe_points
from femli.outputs.files import atomic_write_bytes, atomic_write_json
from femli.outputs.folder import folder_lock, tracking
from femli.outputs.metrics import gather_surface
from femli.outputs.metrics_format import growth_metrics, merge_event_metrics
from femli.outputs.progress import TimeProgress
from femli.parallel import on_root, setup_logging
from femli.pipeline import read_restart, write_outputs
from femli.runs import kind_of
from femli.solve.newton import SolverError
from femli.units import MESH_UNIT, um

log = logging.getLogger("femli.seed003_growth")
SURFACE = ("nuclei", "substrate")
_KEY = 1e-6  # um: vertices closer than this are the same vertex


class Stop(RuntimeError):
    """The run stops early (raised on every rank with the same message)."""


def gather_surface_facets(domain) -> tuple[np.ndarray, np.ndarray] | None:
    """Rank 0: anode facets (n, fdim+1, 3) in um and their part names; None elsewhere."""
    import dolfinx

    mesh, fdim = domain.mesh, domain.dim - 1
    owned = mesh.topology.index_map(fdim).size_local
    local_pts, local_names = [], []
    for name in SURFACE:
        if name not in domain.facet_names:
            continue
        facets = domain.facets(name)
        facets = facets[facets < owned]
        if facets.size:
            nodes = dolfinx.mesh.entities_to_geometry(mesh, fdim, facets)
            local_pts.append(mesh.geometry.x[nodes] / MESH_UNIT)
            local_names += [name] * len(facets)
    parts = domain.comm.gather((local_pts, local_names), root=0)
    if domain.comm.rank != 0:
        return None
    pts = [p for ps, _ in parts for p in ps]
    names = [n for _, ns in parts for n in ns]
    shape = (0, domain.dim, 3)
    return (np.concatenate(pts) if pts else np.zeros(shape)), np.array(names)


def components(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique vertices (m, 3) of facets (n, k, 3) and the connected-piece label of each."""
    keys = np.round(points.reshape(-1, 3) / _KEY).astype(np.int64)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(points.shape[:2])
    parent = np.arange(len(unique))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for facet in inverse:
        root = find(facet[0])
        for k in facet[1:]:
            parent[find(k)] = root
    labels = np.array([find(k) for k in range(len(unique))])
    return unique * _KEY, np.unique(labels, return_inverse=True)[1]


def contact_gaps(facets: np.ndarray, names: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict:
    """Smallest nucleus-nucleus distance and twice the smallest nucleus-wall distance (um)."""
    nuclei = facets[names == "nuclei"]
    if not len(nuclei):
        return {"pieces": 0, "pair_gap": np.inf, "wall_gap": np.inf}
    points, label = components(nuclei)
    pair = np.inf
    for c in np.unique(label):
        others = points[label != c]
        if len(others):
            d, _ = cKDTree(others).query(points[label == c])
            pair = min(pair, float(d.min()))
    lateral = points[:, : len(lo)]
    wall = 2.0 * float(np.minimum(lateral - lo, hi - lateral).min())
    return {"pieces": int(label.max() + 1), "pair_gap": pair, "wall_gap": wall}


class Monitor:
    """Growth callback: recorder, progress, profiles at snapshots, contact monitor."""

    def __init__(self, recorder, progress, output: Path, gap_stop: float, comm) -> None:
        self.recorder, self.progress, self.output = recorder, progress, output
        self.gap_stop, self.comm = gap_stop, comm
        self.gaps: list[dict] = []
        self.bounds = None

    def __call__(self, growth, record: dict) -> None:
        self.recorder(growth, record)
        self.progress(growth, record)
        domain = growth.model.domain
        if self.bounds is None:
            x = domain.mesh.geometry.x[:, : domain.dim - 1] / MESH_UNIT
            lo = self.comm.allreduce(x.min(axis=0, initial=np.inf), op=MPI.MIN)
            hi = self.comm.allreduce(x.max(axis=0, initial=-np.inf), op=MPI.MAX)
            self.bounds = lo, hi
        gathered = gather_surface_facets(domain)
        gaps = contact_gaps(*gathered, *self.bounds) if gathered is not None else None
        gaps = self.comm.bcast(gaps, root=0)
        self.gaps.append({"t": record["t"], **gaps})
        if record["snapshot"]:
            self.profile(growth, record["t"], gathered, have_facets=True)
        gap = min(gaps["pair_gap"], gaps["wall_gap"])
        if gap < self.gap_stop:
            what = (
                "two nuclei"
                if gaps["pair_gap"] <= gaps["wall_gap"]
                else "a nucleus and its mirror image (side wall)"
            )
            t_contact = self.contact_time()
            raise Stop(
                f"deposits about to merge at t = {record['t']:.4g} s: {what} {gap * 1e3:.1f} nm "
                f"apart (< {self.gap_stop * 1e3:.1f} nm), contact extrapolated at "
                f"t = {t_contact:.4g} s; merging is a topology change the moving mesh and the "
                "remesher do not handle"
            )

    def contact_time(self) -> float:
        """Linear extrapolation of the smallest gap to zero from the last two records."""
        if len(self.gaps) < 2:
            return float("nan")
        a, b = self.gaps[-2], self.gaps[-1]
        ga, gb = min(a["pair_gap"], a["wall_gap"]), min(b["pair_gap"], b["wall_gap"])
        rate = (ga - gb) / (b["t"] - a["t"]) if b["t"] > a["t"] else 0.0
        return b["t"] + gb / rate if rate > 0 else float("nan")

    def profile(self, growth, t: float, gathered=None, have_facets: bool = False) -> None:
        """Anode facets and electrode-node currents at time ``t`` -> profiles/t<t>.npz.

        ``gathered``: the facets from :func:`gather_surface_facets` if already collected
        (``have_facets``; None on ranks other than 0). Collective."""
        if not have_facets:
            gathered = gather_surface_facets(growth.model.domain)
        nodes = [
            gather_surface(growth.currents.nodal(e), self.comm) for e in growth.model.electrodes
        ]
        if self.comm.rank != 0:
            return
        facets, names = gathered
        folder = self.output / "profiles"
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            t=t,
            facets=facets,
            facet_part=names,
            node_coords=np.concatenate([s.coords for s in nodes]) / MESH_UNIT,
            node_current=np.concatenate([s.values for s in nodes]),
            node_part=np.concatenate([s.part for s in nodes]).astype(str),
        )
        atomic_write_bytes(folder / f"t{t:08.3f}.npz", buffer.getvalue())

    def write_gaps(self) -> None:
        if self.comm.rank == 0:
            lines = ["t_s,nucleus_pieces,pair_gap_um,wall_gap_um"]
            lines += [
                f"{g['t']:.8g},{g['pieces']},{g['pair_gap']:.6g},{g['wall_gap']:.6g}"
                for g in self.gaps
            ]
            atomic_write_bytes(self.output / "gaps.csv", ("\n".join(lines) + "\n").encode())


def direct_motion_solver(growth) -> None:
    """Solve the mesh-motion (harmonic extension) problem with LU (MUMPS) from the start,
    also after every remesh. CG + GAMG once stopped the SCP@Li case at t = 61 s with
    PETSc error 91, "indefinite preconditioner" (femli now falls back to LU by itself
    when CG fails)."""
    attach = growth.attach

    def attach_and_configure(model) -> None:
        attach(model)
        growth.mover.direct = True

    growth.mover.direct = True
    growth.attach = attach_and_configure


def _finite(x):
    """JSON-safe number: None for inf/nan."""
    return float(x) if x is not None and np.isfinite(x) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument(
        "--gap-stop", type=float, default=None, help="um (default 2.5 x max_displacement_um)"
    )
    parser.add_argument(
        "--motion-solver",
        choices=("lu", "femli"),
        default="lu",
        help="mesh-motion linear solver: LU/MUMPS (default) or femli's CG + GAMG",
    )
    parser.add_argument(
        "--merge-gap",
        type=float,
        default=None,
        help="um: fuse deposits closer than this and go on (2D; implies --gap-stop 0; "
        "overrides [growth] merge_gap_um, which does the same)",
    )
    parser.add_argument(
        "--restart", action="store_true", help="go on from the checkpoint in the output folder"
    )
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(logging.WARNING if args.quiet else logging.INFO)
    comm = MPI.COMM_WORLD
    config = load_case(args.case)
    problems = semantic_problems(config)
    if config.growth is None:
        problems.append("the case has no [growth] block")
    if problems:
        if comm.rank == 0:
            print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    # femli's folder rules: one run per folder at a time, every file recorded as femli's
    with folder_lock(args.output, comm, config.name), tracking(args.output, comm.rank == 0):
        return grow(args, config, comm)


def grow(args: argparse.Namespace, config, comm: MPI.Comm) -> int:
    """The run and its outputs (exit code as :func:`main`)."""
    output = args.output
    step = config.growth.max_displacement_um  # um
    gap_stop = args.gap_stop if args.gap_stop is not None else 2.5 * step
    if args.merge_gap is not None or config.growth.merge_gap_um:  # deposits merge: no stop
        gap_stop = 0.0
    started = datetime.now(UTC).isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    checkpoint = read_restart(config, output, comm) if args.restart else None
    if checkpoint is None:  # a fresh run: an earlier run's checkpoint goes (femli's files only)
        on_root(comm, lambda: remove_checkpoint(output))
    if checkpoint is not None:
        domain, summary = checkpoint.domain(comm), checkpoint.meta["summary"]
    else:
        domain, summary = make_domain(config, comm, args.case.parent)
    timings["mesh"] = time.perf_counter() - clock
    clock = time.perf_counter()
    options = growth_options(config)
    if args.merge_gap is not None:  # fuse deposits instead of stopping at contact (2D)
        options = dataclasses.replace(options, merge_gap=um(args.merge_gap))
    growth = GrowthSolver(make_model(config, domain), options)
    if checkpoint is not None:
        checkpoint.restore(growth)
    if args.motion_solver == "lu":
        direct_motion_solver(growth)
    timings["setup"] = time.perf_counter() - clock
    clock = time.perf_counter()
    t_end, out = config.growth.t_end, config.output
    segments = checkpoint.meta.get("segments", 0) if checkpoint is not None else 0
    recorder = GrowthRecorder(output, out.renders, out.fields, segments, t_end)
    recorder.start(comm)
    saver = kind_of(config).checkpointer(config, t_end, output, summary, growth)
    saver.recorder = recorder
    stop, valid = None, True
    with TimeProgress(t_end, comm) as progress:
        monitor = Monitor(recorder, progress, output, gap_stop, comm)

        def step(g: GrowthSolver, record: dict) -> bool | None:
            done = monitor(g, record) or saver(g, record)
            check_interrupt(comm)  # a stop request: here, after the checkpoint
            return done

        try:
            with stop_at_safe_points():
                growth.run(callback=step)
        except KeyboardInterrupt as err:  # SIGINT / SIGTERM: stopped after a whole step
            stop = {"kind": "interrupted", "message": f"interrupted ({err})"}
        except Stop as err:
            stop = {"kind": "contact", "message": str(err), "t_contact": monitor.contact_time()}
        except MeshMotionError as err:
            stop = {"kind": "mesh", "message": str(err)}
        except (GeometryError, NotImplementedError) as err:
            stop = {"kind": "remesh", "message": f"remeshing failed at t = {growth.t:.4g} s: {err}"}
        except SolverError as err:  # the state after the last move is not a solution
            stop, valid = {"kind": "solver", "message": str(err)}, False
    timings["solve"] = time.perf_counter() - clock
    records = growth.records
    if stop is not None:
        stop["t_reached_s"] = records[-1]["t"]
        if valid and not records[-1]["snapshot"]:
            monitor.profile(growth, records[-1]["t"])
        if comm.rank == 0:
            print(f"stopped at t = {records[-1]['t']:.4g} s: {stop['message']}", file=sys.stderr)
    recorder.finish(records, comm)
    monitor.write_gaps()
    last_gaps = monitor.gaps[-1] if monitor.gaps else {}  # none: a restart that took no step
    extra = {
        "growth": {  # metrics.json keys (femli/outputs/metrics.schema.json) and this script's
            **growth_metrics(records[-1]),
            "steps": len(records) - 1,
            "initial": growth_metrics(records[0]),
            "t_end_s": config.growth.t_end,
            "completed": stop is None,
            "stop": stop,
            "gap_stop_um": gap_stop,
            "merge_events": [merge_event_metrics(e) for e in growth.merges],
            "deposit_centres_um": None if growth.seeds is None else growth.seeds.tolist(),
            "min_gap_um": {k: last_gaps.get(k, np.inf) for k in ("pair_gap", "wall_gap")},
            "restarted_at_s": None if checkpoint is None else float(checkpoint.meta["t"]),
        }
    }
    if stop is not None:
        extra["status"] = f"stopped early at t = {records[-1]['t']:.4g} s ({stop['kind']})"
        stop["t_contact_s"] = _finite(stop.pop("t_contact", None))
    extra["growth"]["min_gap_um"] = {
        k: _finite(v) for k, v in extra["growth"]["min_gap_um"].items()
    }
    if not valid:
        if comm.rank == 0:
            atomic_write_json(output / "metrics_partial.json", extra)
        comm.barrier()
        return 3
    metrics = write_outputs(config, growth, output, timings, summary, started, extra)
    if comm.rank == 0:
        g = metrics["growth"]
        print(
            f"t = {g['t_s']:.4g} s of {config.growth.t_end:g} s, {g['steps']} steps, "
            f"{g['remeshes']} remeshes, max height {g['max_height_m'] * 1e6:.3f} um; "
            f"results in {output}/"
        )
    comm.barrier()  # every file is written when any rank returns
    return 0 if stop is None else 4


if __name__ == "__main__":
    sys.exit(main())
