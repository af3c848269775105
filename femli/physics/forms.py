"""Pure functions that build UFL expressions and residuals for the transport models.

Nothing here assembles or solves: each function takes UFL operands and returns UFL,
so the forms can be unit-tested and reused by the stationary, transient and growth
solvers. Equations are written per unit Faraday (the charge balance is ``div(i/F)``)
so the species and charge rows share units, mol/(m^2 s) per unit test function.
"""

from __future__ import annotations

from collections.abc import Sequence

import ufl

from femli.units import FARADAY


def nernst_planck_flux(c, phi, diffusivity, charge: int, f: float):
    """Dilute Nernst-Planck molar flux ``-D grad c - z D f c grad phi`` (mol/(m^2 s))."""
    return -diffusivity * ufl.grad(c) - charge * diffusivity * f * c * ufl.grad(phi)


def eliminated_concentration(concentrations: Sequence, charges: Sequence[int], z_last: int):
    """Electroneutrality: the last species' concentration ``-sum z_k c_k / z_last``."""
    return -sum(z * c for z, c in zip(charges, concentrations, strict=True)) / z_last


def species_residual(flux, rate, v, dx, electrode_sources: Sequence[tuple]):
    """Weak form of ``rate + div N = 0`` with electrode fluxes ``N.n = -i_loc/(z F)``.

    ``electrode_sources`` holds ``(i_loc / (z F), ds)`` pairs for the reacting species.
    """
    form = rate * v * dx - ufl.inner(flux, ufl.grad(v)) * dx
    for source, ds in electrode_sources:
        form -= source * v * ds
    return form


def charge_residual(current_over_f, w, dx, electrode_currents: Sequence[tuple]):
    """Weak form of ``div(i/F) = 0`` with electrode current ``i.n = -i_loc``.

    ``current_over_f`` is ``i/F`` (mol/(m^2 s)); ``electrode_currents`` holds
    ``(i_loc, ds)`` pairs.
    """
    form = -ufl.inner(current_over_f, ufl.grad(w)) * dx
    for i_loc, ds in electrode_currents:
        form -= (i_loc / FARADAY) * w * ds
    return form


def ohmic_current(phi, conductivity):
    """Ohm's law ``i = -kappa grad phi`` (A/m^2)."""
    return -conductivity * ufl.grad(phi)
