"""Where the time of a run went: ``femli run --profile`` (wall seconds, slowest rank;
peak resident memory in GB, largest rank).

Read from the run's metrics (``stages``: mesh, setup, solve, output = the field files,
each timed and its memory peak taken collectively by
:func:`femli.solve.stats.measure_stage`; ``solver``: the Newton solve's assembly and
linear-solver seconds; a growth run's new meshes: remeshing, fields carried over, the
solves on them) and the whole command's wall time measured around it (from the start
of the process; the start-up, imports and reading the case, is its own line): what is
left (pictures, tables, metrics.json) is shown as its own line, so the lines add up to
the total.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["profile_rows", "profile_table"]

#: stage key in metrics -> what it covers
STAGES = {
    "mesh": "mesh (Gmsh on rank 0, distribution, splits)",
    "setup": "set-up (model, forms, solver objects)",
    "solve": "solve (guess, Newton, time steps or growth)",
    "output": "fields (gathered once, their files)",
}

#: growth's new-mesh times (metrics growth.new_mesh_seconds) -> what they cover
NEW_MESHES = {
    "remesh_mesh": "remeshing (Gmsh, distribution, split)",
    "new_mesh_fields": "fields carried to new meshes",
    "new_mesh_solve": "solves on new meshes",
}


def profile_rows(
    metrics: Mapping, total_seconds: float, startup_seconds: float = 0.0
) -> list[tuple[str, float, float | None]]:
    """(label, seconds, peak GB or None): start-up (imports, reading the case), each
    stage, the solve's assembly and linear solver as indented lines, the rest, the total."""
    stages = metrics.get("stages", {})
    solver = metrics.get("solver", {})
    rows: list[tuple[str, float, float | None]] = []
    if startup_seconds > 0:
        rows.append(("start-up (imports, case file)", startup_seconds, None))
    for key, label in STAGES.items():
        if key not in stages:
            continue
        stage = stages[key]
        rows.append((label, float(stage["seconds"]), stage.get("peak_rss_mb_max", 0.0) / 1024))
        if key == "solve":
            for part in ("assembly_seconds", "linear_solver_seconds"):
                if part in solver:
                    name = part.removesuffix("_seconds").replace("_", " ")
                    rows.append((f"  of which {name} (Newton)", float(solver[part]), None))
            meshes = metrics.get("growth", {}).get("new_mesh_seconds", {})
            rows += [(f"  of which {NEW_MESHES[k]}", float(v), None) for k, v in meshes.items()]
    counted = sum(float(stages[k]["seconds"]) for k in STAGES if k in stages)
    rest = total_seconds - startup_seconds - counted
    rows.append(("rest (pictures, tables, metrics.json)", rest, None))
    rows.append(("total", total_seconds, None))
    return rows


def profile_table(metrics: Mapping, total_seconds: float, startup_seconds: float = 0.0) -> str:
    """The rows of :func:`profile_rows` as aligned text with each stage's share."""
    rows = profile_rows(metrics, total_seconds, startup_seconds)
    width = max(len(label) for label, _, _ in rows)
    lines = [f"{'where the time went':<{width}}  {'s':>9}  {'share':>6}  {'peak GB':>7}"]
    for label, seconds, peak in rows:
        share = f"{100 * seconds / total_seconds:5.1f}%" if total_seconds > 0 else "     -"
        memory = f"{peak:7.2f}" if peak is not None else " " * 7
        lines.append(f"{label:<{width}}  {seconds:9.2f}  {share:>6}  {memory}")
    return "\n".join(lines)
