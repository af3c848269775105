"""Physical quantities in case files: a plain number in the key's unit (SI, or um for
``*_um`` keys and geometry parameters), or a string with its unit ("10 mA/cm2",
"0.5 um", "1 M", "25 degC"), converted with pint to the key's unit.

Each physical quantity is one annotation (:class:`Quantity`) for the pydantic schema: a
before-validator that converts strings and leaves numbers to the model's own (strict)
validation, so a case written with plain numbers validates, and digests, exactly as
before. A string of the wrong dimension is one message naming the quantity, its unit and
an example: ``expected a current density (A/m2), e.g. '10 mA/cm2'``. The JSON schema of
an annotated key accepts a number or a string and carries its ``unit``.

Exponents may be written ``cm2``, ``cm^2`` or ``cm**2``; ``M`` is mol/L, ``degC`` (or
``°C``) degrees Celsius, ``um`` (or ``µm``) micrometres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from femli.messages import shorten

__all__ = [
    "Angle",
    "Concentration",
    "Conductivity",
    "CurrentDensity",
    "Density",
    "Diffusivity",
    "Length",
    "MolarMass",
    "Potential",
    "Quantity",
    "Temperature",
    "Time",
    "convert",
    "geometry_quantities",
    "unit_of",
]

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
#: pydantic's bounds, as JSON Schema writes them
_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
_EXPONENT = re.compile(r"(?<=[A-Za-zµμΩ])(\d+)")  # cm2 -> cm**2 (after a unit's letters)


@cache
def _registry() -> Any:
    """pint's unit registry (loaded on the first string quantity, ~0.1 s)."""
    import pint

    return pint.UnitRegistry()


@dataclass(frozen=True, slots=True)
class Quantity:
    """A physical quantity of a case-file key: its unit as pint reads it (``unit``), as
    messages and documentation write it (``label``), what it is (``what``, "a current
    density") and an example with another unit (``example``)."""

    unit: str
    label: str
    what: str
    example: str

    def convert(self, value: Any) -> Any:
        """A string quantity in :attr:`unit` (a float); anything else unchanged."""
        return convert(value, self) if isinstance(value, str) else value

    def expected(self) -> str:
        return f"expected {self.what} ({self.label}), e.g. {self.example!r}"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.convert, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        number = {_BOUNDS.get(k, k): v for k, v in handler(schema).items()}
        text = {"type": "string", "description": f"a quantity with its unit, e.g. {self.example!r}"}
        return {"anyOf": [number, text], "unit": self.label}


def convert(text: str, quantity: Quantity) -> float:
    """``text`` ("10 mA/cm2") in ``quantity``'s unit; ValueError naming what is expected
    when it is not a number with a unit of that dimension."""
    match = _NUMBER.match(text)
    if match is None:
        raise ValueError(f"not a number with a unit: {quantity.expected()}")
    magnitude, unit = float(match.group(1)), _EXPONENT.sub(r"**\1", match.group(2))
    ureg = _registry()
    try:
        value = ureg.Quantity(magnitude, unit or "dimensionless")
    except Exception:  # pint's parse and definition errors have no common base
        raise ValueError(f"unknown unit {shorten(match.group(2))}: {quantity.expected()}") from None
    target = ureg.Quantity(1.0, quantity.unit)
    if value.dimensionality != target.dimensionality:
        raise ValueError(quantity.expected())
    # 15 significant digits: "1 M" is 1000.0 mol/m^3, not 999.9999999999999
    return float(f"{value.to(quantity.unit).magnitude:.15g}")


def unit_of(annotation: Any) -> Quantity | None:
    """The :class:`Quantity` inside an annotation (``X | None``, ``list[X]``, ``dict``)."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Quantity):
            return meta
    for arg in getattr(annotation, "__args__", ()):
        found = unit_of(arg)
        if found is not None:
            return found
    return None


def _q(unit: str, label: str, what: str, example: str) -> Any:
    return Annotated[float, Quantity(unit, label, what, example)]


CurrentDensity = _q("A/m**2", "A/m2", "a current density", "10 mA/cm2")
Potential = _q("V", "V", "a potential", "-20 mV")
Diffusivity = _q("m**2/s", "m2/s", "a diffusivity", "5e-6 cm2/s")
Concentration = _q("mol/m**3", "mol/m3", "a concentration", "1 M")
Conductivity = _q("S/m", "S/m", "a conductivity", "10 mS/cm")
Temperature = _q("K", "K", "a temperature", "25 degC")
Time = _q("s", "s", "a time", "10 min")
Length = _q("um", "um", "a length", "500 nm")
MolarMass = _q("kg/mol", "kg/mol", "a molar mass", "6.94 g/mol")
Density = _q("kg/m**3", "kg/m3", "a mass density", "0.534 g/cm3")
Angle = _q("deg", "deg", "an angle", "1.2 rad")

#: Geometry builder units (``UNITS`` of the parameter classes) that strings convert to.
_GEOMETRY = {"um": Length, "deg": Angle}


def geometry_quantities(data: Any) -> Any:
    """A ``[geometry]`` table with its builder parameters given as strings with units
    converted to the builder's unit (um, degrees); raises a pydantic ValidationError at
    each parameter that is not a quantity of its dimension. Strings that do not start
    with a number (choices such as ``surface = "rough"``) and tables whose builder is
    unknown are left to the later checks."""
    if not isinstance(data, dict):
        return data
    strings = {k: v for k, v in data.items() if isinstance(v, str) and _NUMBER.match(v)}
    units = _builder_units(data) if strings else {}
    out, errors = dict(data), []
    for key, text in strings.items():
        quantity = _GEOMETRY.get(units.get(key, ""))
        if quantity is None:
            continue
        meta = unit_of(quantity)
        assert meta is not None
        try:
            out[key] = convert(text, meta)
        except ValueError as err:
            kind = PydanticCustomError("quantity", "{error}", {"error": str(err)})
            errors.append(InitErrorDetails(type=kind, loc=(key,), input=text))
    if errors:
        raise ValidationError.from_exception_data("geometry", errors)
    return out


def _builder_units(data: dict) -> dict[str, str]:
    """The parameter units of the builder a geometry table names (its kind, or its
    preset's); empty when it names none that exists."""
    from femli.geometry import BUILDERS, GeometryError, load_preset

    kind = data.get("kind")
    if kind is None and isinstance(data.get("preset"), str):
        try:
            kind = load_preset(data["preset"])[0]
        except (GeometryError, OSError, ValueError):
            return {}
    entry = BUILDERS.get(kind) if isinstance(kind, str) else None
    return dict(entry[0].UNITS) if entry is not None else {}
