"""Safe expressions of case files: what they accept, what they refuse (and say so), and
that numpy and UFL give the same values."""

from __future__ import annotations

import dolfinx
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from femli.expressions import MAX_LENGTH, ExpressionError, parse

VARIABLES = {"c": "mol/m3", "T": "K"}


def test_numbers_variables_operators_and_functions():
    e = parse("0.1*(c/1000)*exp(-c/2000) + 10**(-4.43 - 54/(T - 229)) - sqrt(c)/log(T)", VARIABLES)
    c, t = 800.0, 298.15
    expected = 0.1 * (c / 1000) * np.exp(-c / 2000) + 10 ** (-4.43 - 54 / (t - 229))
    expected -= np.sqrt(c) / np.log(t)
    assert e.evaluate(c=c, T=t) == pytest.approx(expected, rel=1e-14)
    assert e.uses("T") and not e.uses("x")
    many = parse("log10(c) + tanh(-c/500) + +c", VARIABLES).evaluate(c=np.array([10.0, 100.0]), T=1)
    assert many == pytest.approx(np.log10([10, 100]) + np.tanh([-0.02, -0.2]) + [10, 100])


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('__import__("os").system("true")', "the call"),
        ("c.real", "'c.real'"),
        ("x + 1", "the name 'x'"),
        ("exp", "the name 'exp'"),
        ("exp(1, 2)", "exp() with other than one argument"),
        ("exp(c=1)", "exp() with other than one argument"),
        ("c // 2", "the operator"),
        ("c if T else 1", "'c if T else 1'"),
        ("[c]", "'[c]'"),
        ("True", "the value True"),
        ("'1'", "the value '1'"),
        ("lambda: 1", "'lambda: 1'"),
        ("1 +", "not a valid expression"),
        ("", "the expression is empty"),
        ("(" * 300 + "c" + ")" * 300, "not a valid expression"),
        ("c" + "+c" * MAX_LENGTH, f"longer than {MAX_LENGTH} characters"),
    ],
)
def test_refusals_name_what_is_wrong_and_what_is_allowed(text, named):
    with pytest.raises(ExpressionError) as info:
        parse(text, VARIABLES)
    message = str(info.value)
    assert named in message, message
    if "longer" not in message:
        assert "c (mol/m3), T (K)" in message and "exp, log, log10, sqrt, tanh" in message


def test_not_a_string_is_refused():
    with pytest.raises(ExpressionError, match="expected an expression"):
        parse(3.0, VARIABLES)


def test_huge_powers_are_floats_not_integers():
    """2**2**2**2**2 as integers would be a 20 000-digit number; as floats it is inf."""
    assert np.isinf(parse("2**2**2**2**2", VARIABLES).evaluate(c=0, T=0))
    assert np.isinf(parse("1/(c - c)", VARIABLES).evaluate(c=1.0, T=0))  # no exception


def test_ufl_evaluation_assembles_to_the_numpy_value():
    e = parse("0.5*exp(-c/1000) + log10(c)*sqrt(T) - tanh(c/3000)", VARIABLES)
    mesh = dolfinx.mesh.create_unit_interval(MPI.COMM_SELF, 4)
    c = dolfinx.fem.Constant(mesh, 700.0)
    value = dolfinx.fem.assemble_scalar(dolfinx.fem.form(e.evaluate("ufl", c=c, T=310.0) * ufl.dx))
    assert value == pytest.approx(e.evaluate(c=700.0, T=310.0), rel=1e-13)
