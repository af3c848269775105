"""Case-file values that are numbers or formulas: the properties of a concentrated
electrolyte (``[electrolyte.properties]``, :class:`femli.case.schema.PropertiesConfig`)
and bulk values that vary in space.

A property is a number, an expression in c (mol/m3) and T (K), or a table; a bulk value
a number or an expression in x, y, z (m) (:mod:`femli.expressions`). The values are kept
as given (a number, the expression's text, the table), so the effective configuration
and its digest show what the file says; :mod:`femli.case.build` turns them into objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator

from femli.case.quantities import Quantity, convert, unit_of
from femli.expressions import ExpressionError
from femli.expressions import parse as parse_expression
from femli.physics.properties import list_sets, make_property

__all__ = [
    "POSITION_VARIABLES",
    "PropertyValue",
    "parameter_set",
    "position_value",
]


def _property(value: Any) -> Any:
    """A concentrated-electrolyte property: a number, an expression in c (mol/m3) and T
    (K), or a table (:func:`femli.physics.properties.make_property`); kept as given."""
    make_property(value)
    return float(value) if isinstance(value, int) else value


#: A property of [electrolyte.properties]: number, expression in c and T, or table.
PropertyValue = Annotated[Any, AfterValidator(_property)]


def parameter_set(name: str) -> str:
    """The name of a shipped parameter set (``ValueError`` listing them otherwise)."""
    if name not in list_sets():
        raise ValueError(f"no such parameter set; shipped sets: {', '.join(list_sets())}")
    return name


_LEADING_NUMBER = re.compile(r"^\s*[-+]?\.?\d")

#: The variables of a bulk value that varies in space, with their units.
POSITION_VARIABLES = {"x": "m", "y": "m", "z": "m"}


def _quantity(text: str, meta: Quantity, err: ExpressionError) -> float:
    """``text`` as a number with a unit of ``meta``'s dimension; a ValueError saying so
    when its unit has another dimension, else the expression's error ``err``."""
    try:
        return convert(text, meta)
    except ValueError as unit_err:
        if str(unit_err) == meta.expected():  # a unit, of the wrong dimension
            raise
        raise ValueError(f"{err} (or a number with a unit, e.g. {meta.example!r})") from None


def position_value(positive: bool, quantity: Any = None) -> Callable[[Any], Any]:
    """A number (> 0 if ``positive``) or an expression in x, y, z (m), kept as given; with
    a ``quantity`` (:mod:`femli.case.quantities`), a string that is no expression but a
    number with a unit ("-20 mV", "1 M") is converted to the quantity's unit."""
    meta = unit_of(quantity)

    def check(value: Any) -> Any:
        if isinstance(value, str):
            try:
                parse_expression(value, POSITION_VARIABLES)
            except ExpressionError as err:
                if meta is None or not _LEADING_NUMBER.match(value):
                    raise ValueError(str(err)) from None
                value = _quantity(value, meta, err)
            else:
                return value
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or value != value or abs(value) == float("inf"):
            raise ValueError(
                "Input should be a valid finite number or an expression in x, y, z (m) such as "
                '"1000 + 1e7*x"'
            )
        if positive and not value > 0:
            raise ValueError("must be > 0 (mol/m3)")
        return float(value)

    return check
