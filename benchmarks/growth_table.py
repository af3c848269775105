"""The growth rows of ``make bench``: ``growth_cost.py`` in its own ``mpiexec`` per rank
count, at about 100 k mesh nodes (issue 20's growth targets), and their table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

#: seed003_bare_li at this refinement has about 100 k mesh nodes
REFINEMENT = 2.8
QUICK_REFINEMENT = 1.5
#: issue 20: a growth step without remesh <= 2 stationary Newton steps; a remesh <= 1
#: stationary solve: the remesh itself (mesh + fields), and with the solve on the new mesh
TARGETS = {
    "step_over_newton_step": 2.0,
    "remesh_mesh_over_stationary": 1.0,
    "remesh_over_stationary": 1.0,
}


def run(refinement: float, ranks: int, timeout: float) -> dict:
    """One ``growth_cost.py`` run (its default steps: one mesh-motion operator's life);
    its JSON record (or the error)."""
    cmd = [str(BIN / "mpiexec"), "-n", str(ranks), sys.executable, str(HERE / "growth_cost.py")]
    cmd += ["--refinement", str(refinement)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    print(f"[bench] growth cost, {ranks} rank(s), refinement {refinement}", flush=True)
    proc = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"refinement": refinement, "ranks": ranks, "error": proc.stderr[-2000:]}
    return json.loads(lines[-1])


def evaluate(records: list[dict]) -> dict:
    """The growth targets on the 1-rank record (``met``: measured and within)."""
    one = [r for r in records if r.get("ranks") == 1 and "error" not in r]
    if not one:
        return {}
    r = one[-1]
    result = {}
    for key, limit in TARGETS.items():
        result[f"growth_{key}"] = {
            "value": r[key],
            "target": f"<= {limit} at ~100 k nodes, 1 rank",
            "nodes": r["nodes"],
            "met": r[key] <= limit,
        }
    return result


def table(records: list[dict]) -> str:
    """Markdown: stationary solve, growth step and remesh, seconds and ratios."""
    lines = [
        "| nodes | ranks | stationary s (Newton steps) | s per Newton step |"
        " growth step s: mean (first, mean of the others) | step / Newton step |"
        " remesh s (nodes after): mesh + fields + solve |"
        " remesh / stationary: mesh + fields (with the solve) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        if "error" in r:
            lines.append(f"| refinement {r['refinement']} | {r['ranks']} | failed |" + " |" * 5)
            continue
        s, step, remesh = r["stationary"], r["step"], r["remesh"]
        steps = f"{step['first']:.1f}, {step['mean_after_first']:.1f}" if "first" in step else ""
        lines.append(
            f"| {r['nodes']:,} | {r['ranks']} | {s['seconds']:.1f} ({s['newton_iterations']})"
            f" | {s['seconds_per_newton_step']:.2f} | {step['mean']:.1f} ({steps})"
            f" | {r['step_over_newton_step']} | {remesh['seconds']:.1f} ({remesh['nodes']:,})"
            f": {remesh['mesh_seconds']:.1f} + {remesh['fields_seconds']:.1f}"
            f" + {remesh['solve_seconds']:.1f} | {r['remesh_mesh_over_stationary']}"
            f" ({r['remesh_over_stationary']}) |"
        )
    return "\n".join(lines) + "\n"
