"""What the geometry builders and presets offer, as plain data (``femli builders``,
``femli presets``, the case-file JSON Schema): each builder's parameters with their
types, defaults and units (``UNITS`` of the parameter classes), the region names it
creates (``REGION_NAMES``), and each preset's builder, dimension and values."""

from __future__ import annotations

import dataclasses
import inspect
import tomllib
import types
import typing
from typing import Any

from femli.geometry.core import WALLS_3D
from femli.geometry.registry import BUILDERS, PRESET_DIR, list_presets, load_preset

__all__ = ["builder", "builders", "preset", "presets"]

_TYPES = {float: "number", int: "integer", str: "string", bool: "boolean", type(None): "none"}


def _type_name(annotation: Any) -> str:
    """``number``, ``integer | none`` ... for a parameter annotation."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    return " | ".join(_TYPES.get(a, str(a)) for a in options or (annotation,))


def builder(kind: str) -> dict[str, Any]:
    """One builder: ``kind``, ``summary`` (its module's first paragraph), ``parameters`` (name,
    type, default, unit; lengths in um) and ``regions`` (``cells``, ``boundaries``, and the
    ``boundaries_3d_only``)."""
    cls = BUILDERS[kind][0]
    hints = typing.get_type_hints(cls)
    module = inspect.getmodule(cls)
    doc = (module.__doc__ or "") if module is not None else ""
    params = [
        {
            "name": f.name,
            "type": _type_name(hints[f.name]),
            "default": f.default,
            "unit": cls.UNITS.get(f.name, ""),
        }
        for f in dataclasses.fields(cls)
    ]
    names = cls.REGION_NAMES
    return {
        "kind": kind,
        "summary": " ".join(doc.strip().split("\n\n")[0].split()),
        "parameters": params,
        "regions": {
            "cells": list(names.cells),
            "boundaries": [n for n in names.facets if n not in WALLS_3D],
            "boundaries_3d_only": [n for n in names.facets if n in WALLS_3D],
        },
    }


def builders() -> list[dict[str, Any]]:
    """Every registered builder (:func:`builder`), by kind."""
    return [builder(kind) for kind in sorted(BUILDERS)]


def preset(name: str) -> dict[str, Any]:
    """One preset: ``name``, ``description``, ``kind``, ``dim`` and its ``parameters``
    (name -> value, unit) over the builder's defaults."""
    kind, params = load_preset(name)
    cls = BUILDERS[kind][0]
    text = tomllib.loads((PRESET_DIR / f"{name}.toml").read_text())
    dim = params.get("dim", {f.name: f.default for f in dataclasses.fields(cls)}["dim"])
    return {
        "name": name,
        "description": str(text.get("description", "")),
        "kind": kind,
        "dim": dim,
        "parameters": {
            key: {"value": value, "unit": cls.UNITS.get(key, "")} for key, value in params.items()
        },
    }


def presets() -> list[dict[str, Any]]:
    """Every preset of the package (:func:`preset`), by name."""
    return [preset(name) for name in list_presets()]
