"""Transport properties of a concentrated binary electrolyte, and the shipped parameter sets.

Each property (conductivity kappa in S/m, salt diffusivity D in m^2/s, cation
transference number t+ and thermodynamic factor 1 + dln f/dln c) is one of

- a number (a constant);
- an expression in the salt concentration ``c`` (mol/m^3) and the temperature ``T``
  (K), checked by :func:`femli.expressions.parse` (e.g. ``"0.1*(c/1000)*exp(-c/2000)"``);
- a table ``{c = [...], value = [...]}``: piecewise-linear in c (mol/m^3, strictly
  increasing), constant beyond the first and last points.

:func:`make_property` turns case-file data into one of these (a ``ValueError`` saying what
is allowed otherwise). The parameter sets in ``femli/physics/electrolytes/*.toml``
(package data; :func:`list_sets`, :func:`load_set`) hold literature values with their
source; a case names one with ``[electrolyte.properties] set = "<name>"``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from femli.expressions import Backend, Expression, ExpressionError, parse

__all__ = [
    "PROPERTY_NAMES",
    "PROPERTY_VARIABLES",
    "SETS_DIR",
    "ConcentratedProperties",
    "Property",
    "Table",
    "evaluate",
    "list_sets",
    "load_set",
    "make_property",
]

#: The variables a property expression may use, with their units.
PROPERTY_VARIABLES = {"c": "mol/m3", "T": "K"}

#: The properties, with their units.
PROPERTY_NAMES = {
    "conductivity": "S/m",
    "diffusivity": "m2/s",
    "transference": "1",
    "thermodynamic_factor": "1",
}

#: Folder of the shipped parameter sets (package data), one ``<name>.toml`` per set.
SETS_DIR = Path(__file__).resolve().parent / "electrolytes"

#: Most points of a property table.
MAX_TABLE = 1000


@dataclass(frozen=True)
class Table:
    """A property tabulated at salt concentrations ``c`` (mol/m^3, strictly increasing):
    piecewise linear between the points, constant beyond the first and the last."""

    c: tuple[float, ...]
    value: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.c) != len(self.value) or not 2 <= len(self.c) <= MAX_TABLE:
            raise ValueError(
                f"a table needs c and value lists of the same length, 2 to {MAX_TABLE} "
                f"points (got {len(self.c)} and {len(self.value)})"
            )
        if not all(math.isfinite(v) for v in (*self.c, *self.value)):
            raise ValueError("table entries must be finite numbers")
        if any(b <= a for a, b in zip(self.c, self.c[1:], strict=False)):
            raise ValueError("table c values (mol/m3) must be strictly increasing")

    def evaluate(self, c: Any, backend: Backend = "numpy") -> Any:
        """The interpolated value at ``c`` (numpy or UFL): the first value plus a ramp
        ``max(c - c_k, 0)`` per knot, whose slope changes sum to the table's slopes."""
        if backend == "numpy":
            ramp: Any = lambda x: np.maximum(np.asarray(x, dtype=float), 0.0)  # noqa: E731
        else:
            import ufl

            ramp = lambda x: ufl.max_value(x, 0.0)  # noqa: E731
        slopes = [
            (v1 - v0) / (c1 - c0)
            for c0, c1, v0, v1 in zip(self.c, self.c[1:], self.value, self.value[1:], strict=False)
        ]
        result: Any = self.value[0]
        previous = 0.0
        for knot, slope in zip(self.c, [*slopes, 0.0], strict=True):
            if slope != previous:
                result = result + (slope - previous) * ramp(c - knot)
            previous = slope
        return result


#: A property: a constant, an expression in c (mol/m^3) and T (K), or a table in c.
Property = float | Expression | Table


def make_property(raw: Any) -> Property:
    """The property a case file's value describes: a number, an expression string or a
    table ``{c = [...], value = [...]}``; ``ValueError`` saying what is allowed."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not math.isfinite(raw):
            raise ValueError("must be a finite number")
        return float(raw)
    if isinstance(raw, str):
        try:
            return parse(raw, PROPERTY_VARIABLES)
        except ExpressionError as err:
            raise ValueError(str(err)) from None
    if isinstance(raw, dict) and set(raw) == {"c", "value"}:
        c, value = raw["c"], raw["value"]
        if not all(_numbers(v) for v in (c, value)):
            raise ValueError("a table's c (mol/m3) and value must be lists of numbers")
        return Table(tuple(float(x) for x in c), tuple(float(x) for x in value))
    raise ValueError(
        "Input should be a valid number, an expression in c (mol/m3) and T (K) such as "
        '"0.1*(c/1000)*exp(-c/2000)", or a table { c = [...], value = [...] } (c in mol/m3)'
    )


def _numbers(values: Any) -> bool:
    return isinstance(values, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def evaluate(prop: Property, c: Any, temperature: float, backend: Backend = "numpy") -> Any:
    """A property's value at salt concentration ``c`` (mol/m^3) and ``temperature`` (K):
    numpy (floats or arrays) or UFL (``c`` a UFL expression)."""
    if isinstance(prop, Expression):
        return prop.evaluate(backend, c=c, T=temperature)
    if isinstance(prop, Table):
        return prop.evaluate(c, backend)
    return prop if backend == "ufl" else np.full(np.shape(c), float(prop))


@dataclass(frozen=True)
class ConcentratedProperties:
    """kappa (S/m), salt diffusivity D (m^2/s), cation transference number t+ and
    thermodynamic factor 1 + dln f/dln c of a binary salt, each a :data:`Property` of the
    salt concentration (mol/m^3) and temperature (K); ``None``: the dilute value of the
    electrolyte's species (Nernst-Einstein kappa, ambipolar D and t+, factor 1).
    ``source`` names where the values come from (a parameter set)."""

    conductivity: Property | None = None
    diffusivity: Property | None = None
    transference: Property | None = None
    thermodynamic_factor: Property | None = None
    source: str = ""

    def given(self) -> dict[str, Property]:
        """The properties given (name -> property)."""
        return {k: getattr(self, k) for k in PROPERTY_NAMES if getattr(self, k) is not None}


def list_sets(directory: Path | None = None) -> list[str]:
    """Names of the shipped parameter sets (file stems, sorted)."""
    return sorted(p.stem for p in (directory or SETS_DIR).glob("*.toml"))


def load_set(name: str, directory: Path | None = None) -> dict[str, Any]:
    """The properties of parameter set ``name`` (raw case-file values by property name);
    ``ValueError`` naming the sets there are."""
    path = (directory or SETS_DIR) / f"{name}.toml"
    if not name or not path.is_file():
        raise ValueError(f"no parameter set {name!r}; shipped sets: {', '.join(list_sets())}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {k: data[k] for k in PROPERTY_NAMES if k in data}
