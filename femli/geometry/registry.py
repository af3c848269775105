"""Builder registry, ``build(kind, **params)`` and the ``geometries/`` preset catalogue."""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from femli.geometry.box import BoxParams, build_box
from femli.geometry.core import Geometry, GeometryError
from femli.geometry.fibres import FibreMatParams, build_fibre_mat
from femli.geometry.layers import LayeredStackParams, build_layered_stack
from femli.geometry.nuclei import NucleusArrayParams, build_nucleus_array
from femli.geometry.voids import VoidContactParams, build_void_contact

#: Preset folder: ``<repo>/geometries`` (one ``<name>.toml`` per preset).
PRESET_DIR = Path(__file__).resolve().parents[2] / "geometries"

BUILDERS: dict[str, tuple[type, Callable[[Any], Geometry]]] = {
    "box": (BoxParams, build_box),
    "nucleus_array": (NucleusArrayParams, build_nucleus_array),
    "fibre_mat": (FibreMatParams, build_fibre_mat),
    "void_contact": (VoidContactParams, build_void_contact),
    "layered_stack": (LayeredStackParams, build_layered_stack),
}


def _hint(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def make_params(kind: str, **params: Any) -> Any:
    """Validated parameter dataclass for ``kind`` (raises :class:`GeometryError`)."""
    if kind not in BUILDERS:
        raise GeometryError(
            f"unknown geometry kind {kind!r}{_hint(kind, list(BUILDERS))};"
            f" allowed: {', '.join(sorted(BUILDERS))}"
        )
    cls = BUILDERS[kind][0]
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in params if k not in names]
    if unknown:
        hints = "; ".join(f"{k!r}{_hint(k, names)}" for k in unknown)
        raise GeometryError(
            f"unknown parameter(s) for kind {kind!r}: {hints}; allowed: {', '.join(names)}"
        )
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})


def build(kind: str, **params: Any) -> Geometry:
    """Build geometry ``kind`` with keyword ``params`` (gmsh must be initialised)."""
    p = make_params(kind, **params)
    return BUILDERS[kind][1](p)


def list_presets(directory: Path | None = None) -> list[str]:
    """Names of the presets in ``geometries/`` (file stems, sorted)."""
    return sorted(p.stem for p in (directory or PRESET_DIR).glob("*.toml"))


def load_preset(name: str, directory: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Read ``geometries/<name>.toml``: returns (kind, parameter dict)."""
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
