"""Safe arithmetic expressions in case files: numbers, named variables, ``+ - * / **``,
parentheses and a few functions, nothing else.

An expression such as ``"1000 + 1e7*x"`` (a bulk concentration in mol/m^3 varying with
x in m) or ``"0.1*(c/1000)*exp(-c/2000)"`` (a conductivity in S/m of the salt
concentration c in mol/m^3) is parsed once with :mod:`ast` and checked against a white
list (:func:`parse`); no name, attribute, call or literal outside it is accepted, so a
case file cannot run code. The parsed :class:`Expression` is then evaluated with numpy
(floats or arrays: boundary values, checks) or with UFL (the same formula inside a
weak form, so it assembles and differentiates), see :meth:`Expression.evaluate`.

Numbers are floats (``2**1000`` overflows to inf, it is never a huge integer); every
function takes one argument.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "FUNCTIONS",
    "MAX_LENGTH",
    "Backend",
    "Expression",
    "ExpressionError",
    "allowed",
    "parse",
]

#: Longest expression text accepted (characters).
MAX_LENGTH = 1000

#: The functions an expression may call, each of one argument.
FUNCTIONS = ("exp", "log", "log10", "sqrt", "tanh")

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}

Backend = Literal["numpy", "ufl"]


class ExpressionError(ValueError):
    """An expression that is not allowed (the message says what is allowed)."""


def allowed(variables: Mapping[str, str]) -> str:
    """What an expression may contain, for messages; ``variables``: name -> unit."""
    names = ", ".join(f"{k} ({unit})" for k, unit in variables.items())
    return (
        f"numbers, + - * / ** and parentheses, the functions {', '.join(FUNCTIONS)}, "
        f"and the variables {names}"
    )


@dataclass(frozen=True)
class Expression:
    """A checked expression ``text`` in the variables ``variables`` (name -> unit)."""

    text: str
    variables: dict[str, str]
    tree: ast.Expression = field(repr=False, compare=False)

    def uses(self, name: str) -> bool:
        """Whether the expression reads variable ``name``."""
        return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(self.tree))

    def evaluate(self, backend: Backend = "numpy", **values: Any) -> Any:
        """The value with ``values`` for the variables: numpy (floats or arrays, non-finite
        results allowed: check them) or UFL (``values`` UFL operands or numbers)."""
        missing = [k for k in self.variables if k not in values]
        if missing:
            raise ExpressionError(f"{self.text!r}: no value given for {missing}")
        functions = _functions(backend)
        if backend == "numpy":
            values = {k: np.asarray(v, dtype=float) for k, v in values.items()}
            with np.errstate(all="ignore"):
                return _evaluate(self.tree.body, values, functions, np.float64)
        return _evaluate(self.tree.body, values, functions, float)


def parse(text: Any, variables: Mapping[str, str]) -> Expression:
    """Check ``text`` and return its :class:`Expression`; ``variables``: name -> unit.

    Raises :class:`ExpressionError` naming what is not allowed and what is.
    """
    what = allowed(variables)
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression (a string) of {what}")
    if not text.strip():
        raise ExpressionError(f"the expression is empty; allowed: {what}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        reason = getattr(err, "msg", None) or type(err).__name__
        raise ExpressionError(f"not a valid expression ({reason}); allowed: {what}") from None
    problem = _problem(tree.body, variables)
    if problem is not None:
        raise ExpressionError(f"{problem} is not allowed; allowed: {what}")
    return Expression(text, dict(variables), tree)


def _problem(node: ast.AST, variables: Mapping[str, str]) -> str | None:
    """What is wrong in the tree under ``node`` (None if all of it is allowed)."""
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            return f"the operator in {ast.unparse(node)[:40]!r}"
        return _problem(node.left, variables) or _problem(node.right, variables)
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            return f"the operator in {ast.unparse(node)[:40]!r}"
        return _problem(node.operand, variables)
    if isinstance(node, ast.Constant):
        ok = isinstance(node.value, int | float) and not isinstance(node.value, bool)
        return None if ok else f"the value {ast.unparse(node)[:40]}"
    if isinstance(node, ast.Name):
        return None if node.id in variables else f"the name {node.id!r}"
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            return f"the call {ast.unparse(node)[:40]!r}"
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            return f"{name}() with other than one argument"
        return _problem(node.args[0], variables)
    return f"{ast.unparse(node)[:40]!r}"


def _functions(backend: Backend) -> dict[str, Callable[[Any], Any]]:
    if backend == "numpy":
        return {"exp": np.exp, "log": np.log, "log10": np.log10, "sqrt": np.sqrt, "tanh": np.tanh}
    import ufl

    return {
        "exp": ufl.exp,
        "log": ufl.ln,
        "log10": lambda x: ufl.ln(x) / math.log(10.0),
        "sqrt": ufl.sqrt,
        "tanh": ufl.tanh,
    }


def _evaluate(node: ast.AST, values: dict, functions: dict, number: type) -> Any:
    """Evaluate a checked node (``number`` makes the literals floats of that type)."""
    if isinstance(node, ast.Constant):
        return number(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, values, functions, number)
        right = _evaluate(node.right, values, functions, number)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values, functions, number))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return functions[node.func.id](_evaluate(node.args[0], values, functions, number))
    raise ExpressionError(f"cannot evaluate {ast.unparse(node)!r}")  # not reached: checked
