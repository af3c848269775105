"""The case file described for editors and people, from the pydantic models alone: the
JSON Schema ``femli schema`` writes (editors complete and check case files with it) and
the Markdown tables of every section the README shows (``femli schema --markdown``), so
neither can drift from what femli accepts.

Each key's unit is the ``unit`` of its quantity (:mod:`femli.case.quantities`); the
geometry builder parameters (um) are listed from the builders' parameter classes
(:mod:`femli.geometry.catalogue`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from femli.case.schema import CaseConfig
from femli.messages import inner_model

__all__ = ["case_json_schema", "markdown", "sections"]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: How the README names each section of a case file (path in the schema -> heading).
_HEADINGS = {
    (): "top level",
    ("geometry",): "[geometry]",
    ("electrolyte",): "[electrolyte]",
    ("electrolyte", "species"): "[[electrolyte.species]]",
    ("electrolyte", "regions"): "[[electrolyte.regions]]",
    ("electrolyte", "properties"): "[electrolyte.properties]",
    ("electrodes",): "[[electrodes]]",
    ("electrodes", "kinetics"): "[electrodes.kinetics.BOUNDARY]",
    ("bulk",): "[[bulk]]",
    ("solver",): "[solver]",
    ("time",): "[time]",
    ("growth",): "[growth]",
    ("output",): "[output]",
}


def case_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a case file: every key with its description,
    unit, default and bounds; quantities accept a number (the key's unit) or a string
    with a unit; ``[geometry]`` lists every builder's parameters."""
    schema = CaseConfig.model_json_schema(mode="validation")
    schema = {"$schema": _DRAFT, "title": "femli case file", **schema}
    _geometry(schema["$defs"]["GeometryConfig"])
    return schema


def _geometry(node: dict[str, Any]) -> None:
    """Builder kinds, presets and every builder parameter (with the builders that have
    it, their defaults and the unit) as properties of ``[geometry]``."""
    from femli.geometry.catalogue import builders
    from femli.geometry.registry import list_presets

    props = node["properties"]
    props["kind"]["anyOf"][0]["enum"] = [b["kind"] for b in builders()]
    props["preset"]["anyOf"][0]["enum"] = list_presets()
    params: dict[str, dict[str, Any]] = {}
    for b in builders():
        for p in b["parameters"]:
            entry = params.setdefault(p["name"], {"types": set(), "defaults": [], "unit": ""})
            entry["types"].update(p["type"].split(" | "))
            entry["defaults"].append(f"{b['kind']} {json.dumps(p['default'])}")
            entry["unit"] = entry["unit"] or p["unit"]
    for name, entry in sorted(params.items()):
        props.setdefault(name, _parameter(entry))


def _parameter(entry: dict[str, Any]) -> dict[str, Any]:
    json_types = {"number": "number", "integer": "integer", "string": "string", "none": "null"}
    kinds = [{"type": json_types[t]} for t in sorted(entry["types"]) if t in json_types]
    if entry["unit"] in ("um", "deg") and {"type": "string"} not in kinds:
        kinds.append({"type": "string", "description": "a quantity with its unit, e.g. '500 nm'"})
    out: dict[str, Any] = {
        "anyOf": kinds,
        "description": "builder parameter; defaults: " + ", ".join(entry["defaults"]),
    }
    if entry["unit"]:
        out["unit"] = entry["unit"]
    return out


def sections() -> list[tuple[str, list[dict[str, str]]]]:
    """(heading, rows) per section of a case file; a row has ``key``, ``unit``,
    ``default`` and ``meaning``."""
    schema = CaseConfig.model_json_schema(mode="validation")
    defs = schema["$defs"]
    models = _models(CaseConfig)
    out = []
    for path, heading in _HEADINGS.items():
        node = _resolve(schema, path, defs)
        model = models[node.get("title", "CaseConfig")]
        rows = [
            _row(name, prop, _default(model, name)) for name, prop in node["properties"].items()
        ]
        out.append((heading, rows))
    return out


def _models(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every model reachable from ``root``, by class name (the schema's titles)."""
    found = {root.__name__: root}
    for field in root.model_fields.values():
        inner = inner_model(field.annotation)
        if inner is not None and inner.__name__ not in found:
            found |= _models(inner)
    return found


def _default(model: type[BaseModel], name: str) -> str:
    """A field's default as a case file would write it ("-": none)."""
    field = model.model_fields[name]
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(defaults below)"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "(see meaning)"
    if value is None:
        return "-"
    return json.dumps(value, default=lambda v: v.model_dump(mode="json", exclude_none=True))


def _resolve(node: dict, path: tuple[str, ...], defs: dict) -> dict:
    """The object schema at ``path`` (through $ref, optional, array and table values)."""
    for key in path:
        node = _target(node["properties"][key], defs)
    return node


def _target(prop: dict, defs: dict) -> dict:
    for inner in (prop.get("items"), prop.get("additionalProperties"), *prop.get("anyOf", [])):
        if isinstance(inner, dict) and "$ref" in inner:
            return defs[inner["$ref"].split("/")[-1]]
    return defs[prop["$ref"].split("/")[-1]]


def _row(name: str, prop: dict, default: str) -> dict[str, str]:
    return {
        "key": name,
        "unit": _unit(prop) or "-",
        "default": default,
        "meaning": str(prop.get("description", "")),
    }


def _unit(prop: dict) -> str:
    """The ``unit`` of a property, looked for in its alternatives and items too."""
    if "unit" in prop:
        return str(prop["unit"])
    for inner in (prop.get("items"), prop.get("additionalProperties"), *prop.get("anyOf", [])):
        if isinstance(inner, dict) and (found := _unit(inner)):
            return found
    return ""


def markdown() -> str:
    """Every section of a case file as Markdown tables (key, unit, default, meaning)."""
    lines = []
    for heading, rows in sections():
        lines += [
            f"**{heading}**",
            "",
            "| key | unit | default | meaning |",
            "| --- | --- | --- | --- |",
        ]
        for r in rows:
            meaning = r["meaning"].replace("|", "\\|")
            lines.append(f"| `{r['key']}` | {r['unit']} | {r['default']} | {meaning} |")
        lines.append("")
    return "\n".join(lines)
