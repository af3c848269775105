"""End to end: ``femli run`` of the benchmark problem from a case file to all outputs.

Run by ``bench.py`` after ``case.py`` on the same mesh and rank count, so each stage is
compared with the Poisson floor measured there (issue 20's targets). One ``mpiexec -n R
femli run case.toml`` per size: the wall time of the whole command (start-up, imports,
mesh, set-up, solve, fields, pictures, tables, metrics) measured outside, the stages
read from the run's ``metrics.json`` (``stages``: mesh, setup, solve, output = fields),
and what remains (pictures, tables, metrics and the start-up) reported as ``rest``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

#: the problem of problem.py as a case file (same preset, salt, kinetics and potential)
CASE = """\
name = "bench_end_to_end"
[geometry]
preset = "seed003_bare_li"
refinement = {refinement}
split_levels = {split_levels}
[electrolyte]
model = "tertiary"
[[electrolyte.species]]
name = "Li+"
charge = 1
diffusivity = 2.5e-10
concentration = 1000.0
[[electrolyte.species]]
name = "anion"
charge = -1
diffusivity = 2.82e-10
concentration = 1000.0
[[electrodes]]
name = "li"
potential = -0.2
[electrodes.kinetics.nuclei]
type = "butler-volmer"
exchange_current = 5.9
alpha_a = 0.5
alpha_c = 0.5
[electrodes.kinetics.substrate]
type = "butler-volmer"
exchange_current = 5.9
alpha_a = 0.5
alpha_c = 0.5
[[bulk]]
boundaries = ["bulk"]
[solver]
preset = "iterative"
"""

#: issue 20's targets, as ratios to the Poisson floor of the same mesh and ranks
TARGETS = {"total": 8.0, "mesh": 2.0, "outputs": 1.0}


def run(refinement: float, ranks: int, split_levels: int, timeout: float) -> dict:
    """One ``femli run`` of the case under ``mpiexec -n ranks``; its record."""
    record: dict = {"refinement": refinement, "ranks": ranks, "split_levels": split_levels}
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "case.toml"
        case.write_text(CASE.format(refinement=refinement, split_levels=split_levels))
        out = Path(tmp) / "out"
        cmd = [str(BIN / "mpiexec"), "-n", str(ranks), str(BIN / "femli"), "run", str(case)]
        cmd += ["-o", str(out)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        print(f"[bench] femli run, {ranks} rank(s), refinement {refinement}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True)
        record["total_seconds"] = round(time.perf_counter() - start, 2)
        metrics_file = out / "metrics.json"
        if proc.returncode != 0 or not metrics_file.exists():
            record["error"] = proc.stderr.decode(errors="replace")[-2000:]
            return record
        metrics = json.loads(metrics_file.read_text())
    stages = metrics.get("stages", {})
    record["stages"] = stages
    record["dofs"] = metrics.get("dofs")
    seconds = {k: v["seconds"] for k, v in stages.items() if "seconds" in v}
    record["rest_seconds"] = round(record["total_seconds"] - sum(seconds.values()), 2)
    return record


def ratios(record: dict, case: dict | None) -> dict:
    """Stages over the Poisson floor of ``case`` (``case.py``'s record, same mesh)."""
    if case is None or "error" in case or "error" in record:
        return {}
    floor = case["floor_seconds"]
    stages = record["stages"]
    outputs = stages.get("output", {}).get("seconds", 0.0) + record["rest_seconds"]
    return {
        "floor_seconds": floor,
        "total": round(record["total_seconds"] / floor, 2),
        "mesh": round(stages["mesh"]["seconds"] / floor, 2),
        "solve": round((stages["setup"]["seconds"] + stages["solve"]["seconds"]) / floor, 2),
        "outputs": round(outputs / floor, 2),
    }


def evaluate(records: list[dict], cases: list[dict]) -> dict:
    """Issue 20's end-to-end targets on the finest size (``met`` None: not measured)."""
    by = {(c["refinement"], c["ranks"]): c for c in cases if "error" not in c}
    ok = [r for r in records if "error" not in r and (r["refinement"], 1) in by]
    if not ok:
        return {}
    finest = max(ok, key=lambda r: r["refinement"])
    one = by.get((finest["refinement"], 1))
    nodes = one["nodes"] if one else 0
    result: dict = {}
    pair = {r["ranks"]: r for r in ok if r["refinement"] == finest["refinement"]}
    if 1 in pair:
        rs = ratios(pair[1], one)
        for key, limit in TARGETS.items():
            result[f"end_to_end_{key}_over_floor"] = {
                "value": rs[key],
                "target": f"<= {limit} at >= 1M nodes, 1 rank",
                "nodes": nodes,
                "met": rs[key] <= limit and nodes >= 1_000_000,
            }
    if one is not None:
        result.update(memory_targets(one))
    if 1 in pair and 2 in pair:
        m1, m2 = (pair[k]["stages"]["mesh"]["seconds"] for k in (1, 2))
        result["mesh_stage_2_ranks_faster"] = {
            "value": f"{m1:.1f} s -> {m2:.1f} s",
            "target": "2 ranks faster than 1",
            "met": m2 < m1,
        }
    return result


def memory_targets(case: dict) -> dict:
    """Issue 20's memory ratios on one ``case.py`` record (largest rank's peaks)."""
    poisson = case["poisson"]["memory"]["peak_rss_mb_max"]
    solve = case["tertiary"]["peak_rss_mb_max"]
    mesh = case["mesh"]["peak_rss_mb_max"]
    return {
        "solve_memory_over_floor": {
            "value": round(solve / poisson, 2),
            "target": "<= 1.5 (peak of the tertiary solve / peak of the Poisson floor)",
            "met": solve / poisson <= 1.5,
        },
        "mesh_memory_over_solve": {
            "value": round(mesh / solve, 2),
            "target": "<= 1.5 (mesh stage peak on rank 0 / solve peak per rank)",
            "met": mesh / solve <= 1.5,
        },
    }


def table(records: list[dict], cases: list[dict]) -> str:
    """Markdown table: the stages in seconds and as floors."""
    by = {(c["refinement"], c["ranks"]): c for c in cases if "error" not in c}
    lines = [
        "| nodes | ranks | floor s | mesh s (floors) | set-up + solve s (floors) | fields s |"
        " rest s | outputs floors | total s (floors) | peak GB rank 0: mesh / solve |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(records, key=lambda r: (r["refinement"], r["ranks"])):
        case = by.get((r["refinement"], r["ranks"]))
        if "error" in r or case is None:
            lines.append(f"| refinement {r['refinement']} | {r['ranks']} | failed |" + " |" * 7)
            continue
        s, q = r["stages"], ratios(r, case)
        solve = s["setup"]["seconds"] + s["solve"]["seconds"]
        lines.append(
            f"| {case['nodes']:,} | {r['ranks']} | {q['floor_seconds']:.2f}"
            f" | {s['mesh']['seconds']:.1f} ({q['mesh']:.1f}) | {solve:.1f} ({q['solve']:.1f})"
            f" | {s.get('output', {}).get('seconds', 0.0):.1f} | {r['rest_seconds']:.1f}"
            f" | {q['outputs']:.1f} | {r['total_seconds']:.1f} ({q['total']:.1f})"
            f" | {s['mesh']['peak_rss_mb_max'] / 1024:.2f} /"
            f" {s['solve']['peak_rss_mb_max'] / 1024:.2f} |"
        )
    return "\n".join(lines) + "\n"
