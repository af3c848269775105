"""The format of ``metrics.json``: its version, its published JSON Schema, and the
translation of files written by earlier femli versions.

Every key of ``metrics.json`` and its unit is defined in ``metrics.schema.json`` (package
data next to this module; ``femli schema --metrics`` writes it). Keys say their unit
(``total_current_A``, ``area_m2``, ``t_s``); dimensionless numbers have none. Sign
convention, stated once: electrode currents and current densities are *anodic positive*,
as in case files (deposition makes them negative); every key naming *deposition* is the
deposition current, positive when metal deposits. 2D models are per metre of depth
(``area_m2`` is m^2 per m, ``total_current_A`` is A per m).

Version 1 (no ``metrics_version``) had keys without units (``total_current``,
``deposition_current_density.mean``, ``growth.t``); :func:`upgrade` translates such a file
to the current version, so sweeps resume, ``--restart`` and ``femli compare`` read old
result folders.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "GROWTH_KEYS",
    "METRICS_VERSION",
    "MetricsSchemaError",
    "geometry_metrics",
    "growth_metrics",
    "merge_event_metrics",
    "schema",
    "upgrade",
    "validate",
]

#: The version of the metrics.json format femli writes (``metrics_version``).
METRICS_VERSION = 2

#: Growth record keys (SI, :meth:`femli.growth.solver.GrowthSolver._record`) -> metrics
#: keys (the columns of ``growth_series.csv``); keys not listed keep their name.
GROWTH_KEYS: dict[str, str] = {
    "t": "t_s",
    "dt": "dt_s",
    "deposited_volume": "deposited_volume_m3",
    "charge": "charge_C",
    "current": "current_A",
    "mean_height": "mean_height_m",
    "max_height": "max_height_m",
    "roughness_rms": "roughness_rms_m",
    "area": "area_m2",
    "trapped_volume": "trapped_volume_m3",
    "faraday_volume": "faraday_volume_m3",
    "c_min": "c_min_mol_m3",
    "c_tip": "c_tip_mol_m3",
    "t_end": "t_end_s",
}

# version 1 -> 2, per place in the file
_CASE = {"min_concentration": "min_concentration_mol_m3"}
_ELECTRODE = {
    "total_current": "total_current_A",
    "mean_current_density": "mean_current_density_A_m2",
    "area": "area_m2",
    "footprint_area": "footprint_area_m2",
    "footprint_current_density": "footprint_deposition_current_density_A_m2",
}
_STATS = {
    "mean": "mean_A_m2",
    "max": "max_A_m2",
    "min": "min_A_m2",
    "p95": "p95_A_m2",
    "area": "area_m2",
}
_PART = {"features": "feature_count"}
_FEATURE = {
    "area": "area_m2",
    "current": "deposition_current_A",
    "mean": "deposition_mean_A_m2",
    "max": "deposition_max_A_m2",
}
_TRANSIENT = {"t_final": "t_final_s", "depletion_time": "depletion_time_s"}
_MERGE = {"t": "t_s", "trapped": "trapped_volume_m3"}


def _rename(table: Any, names: dict[str, str]) -> None:
    """Rename keys of ``table`` in place (a key already under its new name wins)."""
    if not isinstance(table, dict):
        return
    for old, new in names.items():
        if old in table:
            value = table.pop(old)
            table.setdefault(new, value)


def growth_metrics(record: dict) -> dict:
    """A growth record (or a growth summary) under the metrics keys (:data:`GROWTH_KEYS`);
    the ``snapshot`` flag is left out."""
    return {GROWTH_KEYS.get(k, k): v for k, v in record.items() if k != "snapshot"}


def merge_event_metrics(event: dict) -> dict:
    """A merge event of a growth run (time in s, trapped electrolyte in m^3, m^2 in 2D)
    under the metrics keys."""
    return {_MERGE.get(k, k): v for k, v in event.items()}


def geometry_metrics(summary: dict) -> dict:
    """The geometry summary as written in metrics.json: a builder's summary says that its
    ``features`` are in um (``length_unit``); a mesh file's is kept as it is."""
    if "features" in summary:
        return {**summary, "length_unit": "um"}
    return dict(summary)


def upgrade(metrics: dict) -> dict:
    """``metrics`` in the current format (a copy; a current file is returned as it is).

    Files of version 1 (no ``metrics_version``) get the unit-suffixed keys; the values
    are unchanged (they were SI, with the same signs)."""
    if not isinstance(metrics, dict) or metrics.get("metrics_version", 1) >= METRICS_VERSION:
        return metrics
    out = copy.deepcopy(metrics)
    _rename(out, _CASE)
    for electrode in (out.get("electrodes") or {}).values():
        _upgrade_electrode(electrode)
    _rename(out.get("transient"), _TRANSIENT)
    growth = out.get("growth")
    if isinstance(growth, dict):
        initial = growth.get("initial")
        out["growth"] = growth_metrics(growth)
        if isinstance(initial, dict):
            out["growth"]["initial"] = growth_metrics(initial)
        events = growth.get("merge_events")
        if isinstance(events, list):
            out["growth"]["merge_events"] = [
                merge_event_metrics(e) if isinstance(e, dict) else e for e in events
            ]
    if isinstance(out.get("geometry"), dict):
        out["geometry"] = geometry_metrics(out["geometry"])
        if out["geometry"].get("dim") in (2, 3):
            out.setdefault("dim", out["geometry"]["dim"])
    out["metrics_version"] = METRICS_VERSION
    return out


def _upgrade_electrode(electrode: Any) -> None:
    """One electrode's entry, version 1 -> 2, in place."""
    if not isinstance(electrode, dict):
        return
    _rename(electrode, _ELECTRODE)
    _rename(electrode.get("deposition_current_density"), _STATS)
    for part in (electrode.get("parts") or {}).values():
        if not isinstance(part, dict):
            continue
        _rename(part, _PART)
        _rename(part.get("deposition_current_density"), _STATS)
        for feature in part.get("per_feature") or []:
            _rename(feature, _FEATURE)


@cache
def _schema_text() -> str:
    return (resources.files("femli.outputs") / "metrics.schema.json").read_text()


def schema() -> dict:
    """The JSON Schema of metrics.json (the package's ``metrics.schema.json``)."""
    return json.loads(_schema_text())


class MetricsSchemaError(ValueError):
    """A metrics dictionary that does not fit ``metrics.schema.json``."""


def validate(metrics: dict) -> None:
    """Raise :class:`MetricsSchemaError` naming each place (up to 5) where ``metrics``
    does not fit the schema (needs the ``jsonschema`` package, a development dependency)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(metrics), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{_path(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise MetricsSchemaError(
            "metrics.json does not fit its schema" + more + ":\n  " + "\n  ".join(lines)
        )


def _path(parts: Any) -> str:
    """``electrodes.li.total_current_A`` style place of a schema error."""
    return ".".join(str(p) for p in parts) or "(top level)"
