"""The metrics.json format: its published schema, and files of femli before version 2."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from femli.outputs.metrics_format import (
    METRICS_VERSION,
    MetricsSchemaError,
    growth_metrics,
    schema,
    upgrade,
    validate,
)

LEGACY = Path(__file__).parents[2] / "robustness" / "legacy_metrics"
#: metrics.json files written by femli 71f8a31 (before units in the keys), one per kind
KINDS = ("stationary_2d", "stationary_3d", "transient", "growth")
SUFFIXES = ("_A", "_A_m2", "_V", "_m", "_m2", "_m3", "_s", "_mol_m3", "_C", "_um")


def legacy(kind: str) -> dict:
    return json.loads((LEGACY / f"{kind}.json").read_text())


def properties(node, place: str = ""):
    """(place, name, definition) of every property the schema defines."""
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            yield place, name, sub
        for key, sub in node.items():
            yield from properties(sub, f"{place}/{key}")
    elif isinstance(node, list):
        for sub in node:
            yield from properties(sub, place)


def test_the_schema_is_valid_and_every_key_says_its_unit():
    jsonschema.Draft202012Validator.check_schema(schema())
    text = schema()["description"]
    assert "ANODIC POSITIVE" in text and "POSITIVE when metal deposits" in text
    for place, name, definition in properties(schema()):
        if "$ref" in definition:
            continue
        if name.endswith(SUFFIXES):
            assert "unit" in definition, f"{place}/{name}: no unit"
        assert definition.get("description"), f"{place}/{name}: no description"
    hotspot = schema()["$defs"]["statistics"]["properties"]["hotspot_index"]["description"]
    assert "max_A_m2 / mean_A_m2" in hotspot


@pytest.mark.parametrize("kind", KINDS)
def test_a_version_1_file_is_read_in_the_current_format(kind):
    """Each kind's file of the old format translates to one that fits the schema, with the
    same values under the unit-suffixed keys; the old file itself does not fit."""
    old = legacy(kind)
    with pytest.raises(MetricsSchemaError, match="metrics_version"):
        validate(old)
    new = upgrade(old)
    validate(new)
    assert new["metrics_version"] == METRICS_VERSION and "metrics_version" not in old
    assert new["min_concentration_mol_m3"] == old["min_concentration"]
    (name, electrode), *_ = old["electrodes"].items()
    e = new["electrodes"][name]
    assert e["total_current_A"] == electrode["total_current"]
    assert e["footprint_deposition_current_density_A_m2"] == electrode["footprint_current_density"]
    stats = electrode["deposition_current_density"]
    assert e["deposition_current_density"]["mean_A_m2"] == stats["mean"]
    assert e["deposition_current_density"]["hotspot_index"] == stats["hotspot_index"]
    if kind == "growth":
        assert new["growth"]["t_s"] == old["growth"]["t"]
        assert new["growth"]["initial"]["max_height_m"] == old["growth"]["initial"]["max_height"]
    if kind == "transient":
        assert new["transient"]["t_final_s"] == old["transient"]["t_final"]
    assert upgrade(new) == new  # the current format is left as it is


def test_growth_metrics_are_the_series_columns():
    """The growth keys of metrics.json are the column names of growth_series.csv."""
    from femli.growth.recorder import series_csv

    record = legacy("growth")["growth"]["initial"]
    header = series_csv([record]).splitlines()[0].split(",")
    assert set(header) <= set(growth_metrics(record))


def test_a_misnamed_key_is_refused_with_its_place():
    new = upgrade(legacy("stationary_2d"))
    new["electrodes"]["lithium"]["total_current"] = 1.0
    del new["electrodes"]["lithium"]["deposition_current_density"]["p95_A_m2"]
    with pytest.raises(MetricsSchemaError) as info:
        validate(new)
    message = str(info.value)
    assert "electrodes.lithium: Additional properties" in message
    assert "'p95_A_m2' is a required property" in message
    assert len(message.splitlines()) == 3
