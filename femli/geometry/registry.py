"""Builder registry, ``build(kind, **params)`` and the preset catalogue (``presets/``)."""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from femli.geometry.annulus import AnnulusParams, build_annulus
from femli.geometry.box import BoxParams, build_box
from femli.geometry.core import BuilderParams, Geometry, GeometryError
from femli.geometry.fibres import FibreMatParams, build_fibre_mat
from femli.geometry.interval import IntervalParams, build_interval
from femli.geometry.layers import LayeredStackParams, build_layered_stack
from femli.geometry.nuclei import NucleusArrayParams, build_nucleus_array
from femli.geometry.voids import VoidContactParams, build_void_contact
from femli.messages import shorten

__all__ = [
    "BUILDERS",
    "PRESET_DIR",
    "build",
    "build_preset",
    "list_presets",
    "load_preset",
    "make_params",
    "type_problems",
]

#: Preset folder (package data): ``femli/geometry/presets``, one ``<name>.toml`` per preset.
PRESET_DIR = Path(__file__).resolve().parent / "presets"

#: kind -> (parameter class, builder); each parameter class declares the region names
#: its builder creates (:class:`femli.geometry.core.RegionNames`).
BUILDERS: dict[str, tuple[type[BuilderParams], Callable[[Any], Geometry]]] = {
    "box": (BoxParams, build_box),
    "nucleus_array": (NucleusArrayParams, build_nucleus_array),
    "fibre_mat": (FibreMatParams, build_fibre_mat),
    "void_contact": (VoidContactParams, build_void_contact),
    "layered_stack": (LayeredStackParams, build_layered_stack),
    "interval": (IntervalParams, build_interval),
    "annulus": (AnnulusParams, build_annulus),
}


def _hint(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def make_params(kind: str, **params: Any) -> Any:
    """Validated parameter dataclass for ``kind`` (raises :class:`GeometryError`)."""
    if kind not in BUILDERS:
        raise GeometryError(
            f"unknown geometry kind {shorten(kind)}{_hint(str(kind), list(BUILDERS))};"
            f" allowed: {', '.join(sorted(BUILDERS))}"
        )
    cls = BUILDERS[kind][0]
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in params if k not in names]
    if unknown:
        hints = "; ".join(f"{shorten(k, 30)}{_hint(k, names)}" for k in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        raise GeometryError(
            f"unknown parameter(s) for kind {kind!r}: {hints}{more}; allowed: {', '.join(names)}"
        )
    wrong = type_problems(kind, params)
    if wrong:
        raise GeometryError("; ".join(wrong))
    types = typing.get_type_hints(cls)
    return cls(**{k: _coerce(v, types[k]) for k, v in params.items()})


_TYPE_NAMES = {float: "a number", int: "an integer", str: "a string", bool: "true/false"}


def type_problems(kind: str, params: dict[str, Any]) -> list[str]:
    """``name = value: expected ...`` for each parameter of ``kind`` whose value has the
    wrong type (true/false is not a number, numbers are finite); unknown names are
    skipped (so are the class's own attributes, e.g. ``REGION_NAMES``: not parameters)."""
    cls = BUILDERS[kind][0]
    names = {f.name for f in dataclasses.fields(cls)}
    hints = {k: v for k, v in typing.get_type_hints(cls).items() if k in names}
    out = []
    for key, value in params.items():
        if key in hints and not _accepts(value, hints[key]):
            options = _options(hints[key])
            wanted = " or ".join(_TYPE_NAMES.get(a, "none") for a in options)
            if float in options and isinstance(value, int | float) and not isinstance(value, bool):
                wanted = "a finite number of float range"  # inf, nan or a huge integer
            out.append(f"{key} = {shorten(value)}: expected {wanted}")
    return out


def _options(annotation: Any) -> tuple:
    """The types an annotation allows (``X | None`` -> (X, NoneType))."""
    if isinstance(annotation, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _accepts(value: Any, annotation: Any) -> bool:
    """Whether a TOML value fits a builder parameter annotation (float, int, str, X | None)."""
    options = _options(annotation)
    if len(options) > 1:
        return any(_accepts(value, a) for a in options)
    if annotation is type(None):
        return value is None
    if isinstance(value, bool):
        return annotation is bool
    if annotation is float:
        try:
            return isinstance(value, int | float) and math.isfinite(float(value))
        except OverflowError:  # an integer beyond any float
            return False
    return isinstance(value, annotation) if isinstance(annotation, type) else True


def _coerce(value: Any, annotation: Any) -> Any:
    """Integers given for numbers become floats; arrays become tuples."""
    if isinstance(value, list):
        return tuple(value)
    if float in _options(annotation) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def build(kind: str, **params: Any) -> Geometry:
    """Build geometry ``kind`` with keyword ``params`` (gmsh must be initialised)."""
    p = make_params(kind, **params)
    return BUILDERS[kind][1](p)


def list_presets(directory: Path | None = None) -> list[str]:
    """Names of the presets in :data:`PRESET_DIR` (file stems, sorted)."""
    return sorted(p.stem for p in (directory or PRESET_DIR).glob("*.toml"))


def load_preset(name: str, directory: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Read preset ``<name>.toml`` of :data:`PRESET_DIR`: returns (kind, parameter dict)."""
    path = (directory or PRESET_DIR) / f"{name}.toml"
    if not path.is_file():
        names = list_presets(directory)
        raise GeometryError(
            f"unknown preset {name!r}{_hint(name, names)}; available: {', '.join(names)}"
        )
    data = tomllib.loads(path.read_text())
    kind = data.pop("kind", None)
    if kind is None:
        raise GeometryError(f"preset {path} has no 'kind' entry")
    data.pop("description", None)
    return kind, data


def build_preset(name: str, **overrides: Any) -> Geometry:
    """Build a preset, optionally overriding some of its parameters."""
    kind, params = load_preset(name)
    return build(kind, **(params | overrides))
