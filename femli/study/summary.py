"""The state of a study's case folders and the summary table of all their metrics.

A case folder ``<output>/<case_id>/`` is *completed* when its ``metrics.json`` parses and
its ``config_sha256`` equals the case's digest, *failed* when it holds a ``status.json``
with ``"status": "failed"``, *stale* when it holds metrics of another configuration,
and *pending* otherwise. :func:`aggregate` reads ``cases.csv`` and every folder, and
writes ``summary.csv`` and ``summary.parquet`` (atomically).

Summary columns: ``index``, ``case_id``, one column per swept parameter, ``status``, the
case metrics below, ``<electrode>.<metric>`` per electrode, ``error``, ``config_sha256``.
"""

from __future__ import annotations

import difflib
import io
import json
from pathlib import Path
from typing import Any

from femli.outputs.files import atomic_write_bytes
from femli.study.spec import StudyError

__all__ = [
    "CASE_METRICS",
    "ELECTRODE_METRICS",
    "INDEX_COLUMNS",
    "RESERVED_COLUMNS",
    "aggregate",
    "case_state",
    "flatten",
    "metric_names",
    "param_columns",
    "read_index",
    "resolve_metric",
    "suggest",
    "write_summary",
]

#: Per-electrode columns -> path in ``metrics.json["electrodes"][name]``. Units: total
#: current in A (A/m in 2D), current densities in A/m^2 (deposition positive), V.
ELECTRODE_METRICS: dict[str, tuple[str, ...]] = {
    "total_current": ("total_current",),
    "current_efficiency": ("current_efficiency",),
    "potential_V": ("potential_V",),
    "mean_overpotential_V": ("mean_surface_overpotential_V",),
    "deposition_mean_A_m2": ("deposition_current_density", "mean"),
    "deposition_max_A_m2": ("deposition_current_density", "max"),
    "deposition_p95_A_m2": ("deposition_current_density", "p95"),
    "hotspot_index": ("deposition_current_density", "hotspot_index"),
    "cv": ("deposition_current_density", "coefficient_of_variation"),
    "area_fraction_above_2x_mean": ("deposition_current_density", "area_fraction_above_2x_mean"),
}

#: Per-case columns -> path in ``metrics.json`` (mol/m^3, counts, seconds).
CASE_METRICS: dict[str, tuple[str, ...]] = {
    "min_concentration_mol_m3": ("min_concentration",),
    "dofs": ("dofs",),
    "newton_iterations": ("solver", "newton_iterations"),
    "krylov_iterations": ("solver", "krylov_iterations"),
    "mesh_time_s": ("timings_s", "mesh"),
    "solve_time_s": ("timings_s", "solve"),
    "total_time_s": ("timings_s",),
    "mpi_size": ("mpi_size",),
    "t_final_s": ("transient", "t_final"),
    "depletion_time_s": ("transient", "depletion_time"),
}
_OPTIONAL = ("t_final_s", "depletion_time_s")  # dropped when no case has them

INDEX_COLUMNS = ("index", "case_id", "config_sha256")
RESERVED_COLUMNS = frozenset({*INDEX_COLUMNS, "status", "error", *CASE_METRICS})


def metric_names(electrodes: list[str]) -> list[str]:
    """Every metric a plot may name: case metrics, short electrode metrics, full columns."""
    full = [f"{e}.{m}" for e in electrodes for m in ELECTRODE_METRICS]
    return [*CASE_METRICS, *ELECTRODE_METRICS, *full]


def resolve_metric(metric: str, electrodes: list[str]) -> list[str]:
    """Summary columns a metric name stands for (a short electrode metric -> one per electrode)."""
    if metric in CASE_METRICS:
        return [metric]
    if metric in ELECTRODE_METRICS:
        return [f"{e}.{metric}" for e in electrodes]
    return [metric] if metric in metric_names(electrodes) else []


def case_state(folder: Path, digest: str) -> tuple[str, dict | None, str | None]:
    """(state, metrics or None, error or None) of one case folder; see the module doc."""
    metrics = _read_json(folder / "metrics.json")
    if metrics is not None:
        if metrics.get("config_sha256") == digest and metrics.get("status") == "completed":
            return "completed", metrics, None
        return "stale", None, None
    status = _read_json(folder / "status.json")
    if status is not None and status.get("status") == "failed":
        return "failed", None, str(status.get("error", ""))
    return "pending", None, None


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _get(data: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(data, dict) or k not in data:
            return None
        data = data[k]
    return data


def _total(timings: dict) -> float:
    """Sum of the numeric stage times (s)."""
    return round(sum(v for v in timings.values() if isinstance(v, int | float)), 4)


def flatten(metrics: dict) -> dict[str, Any]:
    """The summary columns of one case's ``metrics.json``."""
    row: dict[str, Any] = {}
    for column, keys in CASE_METRICS.items():
        value = _get(metrics, keys)
        row[column] = _total(value) if isinstance(value, dict) else value
    for name, electrode in (metrics.get("electrodes") or {}).items():
        for column, keys in ELECTRODE_METRICS.items():
            row[f"{name}.{column}"] = _get(electrode, keys)
    return row


def read_index(output: Path):
    """``cases.csv`` of a study folder as a DataFrame (clear error when it is missing)."""
    import pandas as pd

    path = Path(output) / "cases.csv"
    if not path.is_file():
        raise StudyError([f"{str(output)!r} has no cases.csv: not a femli sweep folder"])
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def param_columns(index) -> list[str]:
    """The swept-parameter columns of a ``cases.csv`` table."""
    return [c for c in index.columns if c not in INDEX_COLUMNS]


def aggregate(output: str | Path, write: bool = True):
    """One row per case of ``<output>/cases.csv`` with its parameters, status and metrics.

    Writes ``summary.csv`` and ``summary.parquet`` into ``output`` (atomically) unless
    ``write`` is false; returns the table (a pandas DataFrame).
    """
    import pandas as pd

    output = Path(output)
    index = read_index(output)
    params = param_columns(index)
    rows, electrode_columns = [], []
    for case in index.to_dict("records"):
        state, metrics, error = case_state(output / case["case_id"], case["config_sha256"])
        values = flatten(metrics) if metrics else {}
        electrode_columns += [c for c in values if "." in c and c not in electrode_columns]
        rows.append({**case, "status": state, **values, "error": error})
    case_columns = [c for c in CASE_METRICS if c not in _OPTIONAL or _any(rows, c)]
    columns = [
        "index", "case_id", *params, "status", *case_columns, *electrode_columns,
        "error", "config_sha256",
    ]  # fmt: skip
    table = pd.DataFrame(rows).reindex(columns=columns)
    if write:
        write_summary(table, output)
    return table


def _any(rows: list[dict], column: str) -> bool:
    return any(r.get(column) is not None for r in rows)


def write_summary(table, output: Path) -> None:
    """``summary.csv`` and ``summary.parquet`` (pyarrow), each written atomically."""
    atomic_write_bytes(output / "summary.csv", table.to_csv(index=False).encode())
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False, engine="pyarrow")
    atomic_write_bytes(output / "summary.parquet", buffer.getvalue())


def suggest(name: str, allowed: list[str]) -> str:
    """`` Did you mean 'x'?`` or an empty string."""
    hint = difflib.get_close_matches(name, allowed, n=1)
    return f" Did you mean {hint[0]!r}?" if hint else ""
