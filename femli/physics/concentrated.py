"""The concentrated binary electrolyte (Newman): ``electrolyte.model = "concentrated"``.

A binary salt (a cation of charge z+ > 0, the reacting ion, and an anion of charge z- < 0;
nu+ = -z-/g and nu- = z+/g ions per formula unit, g = gcd(z+, -z-), nu = nu+ + nu-),
salt concentration c = c+/nu+ in mol/m^3, with kappa(c), the salt diffusivity D(c), the
cation transference number t+(c) and the thermodynamic factor
chi(c) = 1 + dln f+-/dln c (:class:`~femli.physics.properties.ConcentratedProperties`;
any property not given takes the dilute value of the species). With Phi the potential of
a reference electrode of the cation's metal (Newman, Electrochemical Systems, ch. 12):

    i = -kappa grad Phi + kappa (nu / (z+ nu+)) (RT/F) (1 - t+) chi grad ln c
    N+ = -D grad c+ + t+ i / (z+ F)            (c+ = nu+ c; solvent velocity neglected)

so the cation balance ``dc+/dt = -div N+`` holds ``div(D grad c+) - i.grad(t+)/(z+ F)``
(div i = 0). The unknown ``phi`` is ``Phi - RT/(z+ F) ln(c+/c_ref)`` (c_ref: the bulk
concentration): the potential the dilute models solve for, so that the kinetics laws
keep their meaning (a Butler-Volmer law with the concentration factor, alpha_a + alpha_c
= 1 and order 1 is at equilibrium where E_s = Phi) and, written in phi,

    i = -kappa grad phi + (kappa RT/F) [(nu / (z+ nu+)) (1 - t+) chi - 1/z+] grad ln c.

With the dilute properties (kappa = F^2/(RT) sum z^2 D_k c_k, the ambipolar D and t+,
chi = 1) these are exactly the dilute binary equations (the tertiary model). SI units.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import ufl
from ufl.core.expr import Expr

from femli.expressions import Backend
from femli.physics.properties import ConcentratedProperties, Property, evaluate
from femli.physics.transport import Supporting, eliminated_concentration, register
from femli.units import FARADAY

if TYPE_CHECKING:
    from femli.physics.electrolyte import Electrolyte, Species
    from femli.physics.model import CellModel

__all__ = [
    "Concentrated",
    "dilute_properties",
    "salt_numbers",
]

#: Concentrations below this share of the bulk value are clipped where a property or
#: ln c is evaluated (Newton iterates may pass through c <= 0).
C_FLOOR = 1.0e-9


def salt_numbers(electrolyte: Electrolyte) -> tuple[Species, Species, int, int]:
    """(cation, anion, nu+, nu-) of a binary salt (``ValueError`` naming what is wrong)."""
    if len(electrolyte.species) != 2:
        raise ValueError(
            "the concentrated model is for a binary salt: give exactly two species "
            f"(a cation and an anion), got {len(electrolyte.species)}"
        )
    cation = electrolyte.reacting_species
    anion = next(s for s in electrolyte.species if s.name != cation.name)
    if not (cation.charge > 0 > anion.charge):
        raise ValueError(
            "the concentrated model needs the reacting species to be the cation (charge > 0) "
            f"and the other one an anion (charge < 0), got {cation.name} {cation.charge:+d}, "
            f"{anion.name} {anion.charge:+d}"
        )
    g = math.gcd(cation.charge, -anion.charge)
    return cation, anion, -anion.charge // g, cation.charge // g


def dilute_properties(electrolyte: Electrolyte) -> dict[str, Any]:
    """The dilute values of the species: kappa(c) = F^2/(RT) (z+^2 nu+ D+ + z-^2 nu- D-) c
    as a function of the salt concentration c (mol/m^3), the ambipolar D (m^2/s), t+, and
    a thermodynamic factor 1."""
    cation, anion, nu_p, nu_m = salt_numbers(electrolyte)
    z1, z2, d1, d2 = cation.charge, anion.charge, cation.diffusivity, anion.diffusivity
    den = z1 * d1 - z2 * d2
    slope = electrolyte.f * FARADAY * (z1 * z1 * nu_p * d1 + z2 * z2 * nu_m * d2)
    return {
        "conductivity": lambda c: slope * c,
        "diffusivity": (z1 - z2) * d1 * d2 / den,
        "transference": z1 * d1 / den,
        "thermodynamic_factor": 1.0,
    }


@register
class Concentrated(Supporting):
    """Newman's concentrated binary electrolyte (see the module text); SI units."""

    name = "concentrated"

    def check(self, electrolyte: Electrolyte) -> None:
        """A binary salt whose cation reacts; kappa, D, chi > 0 and t+ < 1 at the bulk."""
        cation, _, nu_p, _ = salt_numbers(electrolyte)
        if electrolyte.conductivity is not None or electrolyte.transference != 0.0:
            raise ValueError(
                "the concentrated model reads kappa and t+ from [electrolyte.properties] "
                "(conductivity, transference): electrolyte.conductivity and "
                "electrolyte.transference do not apply"
            )
        c0 = cation.concentration / nu_p
        values = {k: float(v) for k, v in self.values(electrolyte, c0).items()}
        positive = ("conductivity", "diffusivity", "thermodynamic_factor")
        bad = {
            k: v
            for k, v in values.items()
            if not math.isfinite(v)
            or (k in positive and v <= 0)
            or (k == "transference" and v >= 1)
        }
        if bad:
            shown = ", ".join(f"properties.{k} = {v:.4g}" for k, v in bad.items())
            raise ValueError(
                f"at the bulk salt concentration {c0:g} mol/m3 and {electrolyte.temperature:g}"
                f" K the properties give {shown}; allowed: conductivity, diffusivity and "
                "thermodynamic_factor > 0, transference < 1"
            )

    def values(
        self, electrolyte: Electrolyte, c: Any, backend: Backend = "numpy"
    ) -> dict[str, Any]:
        """Each property at salt concentration ``c`` (mol/m^3): numpy or UFL."""
        given = (electrolyte.properties or ConcentratedProperties()).given()
        dilute = dilute_properties(electrolyte)
        out = {}
        for key, default in dilute.items():
            prop: Property | None = given.get(key)
            if prop is not None:
                out[key] = evaluate(prop, c, electrolyte.temperature, backend)
            else:
                out[key] = default(c) if callable(default) else default
        return out

    def _fields(self, model: CellModel) -> tuple[Expr, dict[str, Any]]:
        """(salt concentration, properties at it as UFL with the regions' factors)."""
        electrolyte = model.electrolyte
        cation, _, nu_p, _ = salt_numbers(electrolyte)
        c_plus = model.unknowns[0]
        floor = C_FLOOR * cation.concentration
        c = ufl.max_value(c_plus, floor) / nu_p
        props = self.values(electrolyte, c, "ufl")
        scales = self._region_scales(model, cation.concentration / nu_p)
        props["conductivity"] = props["conductivity"] * scales[0]
        props["diffusivity"] = props["diffusivity"] * scales[1]
        return c, props

    def _region_scales(self, model: CellModel, c0: float) -> tuple[Any, Any]:
        """Per-region multipliers of kappa and D: porosity/tortuosity, times a region's
        given value over the bulk one at the bulk concentration ``c0`` (mol/m^3)."""
        electrolyte = model.electrolyte
        bulk = self.values(electrolyte, np.asarray(c0))
        kappa0, d0 = float(bulk["conductivity"]), float(bulk["diffusivity"])
        reacting = electrolyte.reacting
        kappa = {
            r.region: (r.conductivity / kappa0 if r.conductivity else 1.0) * r.factor
            for r in electrolyte.regions
        }
        diff = {
            r.region: r.diffusivity.get(reacting, d0) / d0 * r.factor for r in electrolyte.regions
        }
        return model.region_field(kappa, 1.0), model.region_field(diff, 1.0)

    def unsolved_concentration(self, model: CellModel, species: Species) -> Expr:
        """Electroneutrality: the anion's ``-z+ c+ / z-`` (mol/m^3)."""
        cation = model.species_unknowns[0]
        return eliminated_concentration(model.unknowns[:1], [cation.charge], species.charge)

    def nodal_concentrations(self, model: CellModel) -> dict[str, np.ndarray]:
        """The cation's array and the anion's from electroneutrality (mol/m^3)."""
        cation, anion, _, _ = salt_numbers(model.electrolyte)
        c_plus = model.unknowns[0].x.array
        return {cation.name: c_plus, anion.name: np.asarray(-cation.charge * c_plus / anion.charge)}

    def current_density(self, model: CellModel) -> Expr:
        """``-kappa grad phi + (kappa RT/F) [(nu/(z+ nu+)) (1 - t+) chi - 1/z+] grad ln c``
        (A/m^2)."""
        return self._current(model, *self._fields(model))

    def _current(self, model: CellModel, c: Expr, p: dict[str, Any]) -> Expr:
        """:meth:`current_density` with the salt concentration ``c`` and properties ``p``
        of :meth:`_fields` given (one set of property fields per form)."""
        cation, _, nu_p, nu_m = salt_numbers(model.electrolyte)
        z = cation.charge
        factor = (nu_p + nu_m) / (z * nu_p) * (1 - p["transference"]) * p[
            "thermodynamic_factor"
        ] - 1.0 / z
        kappa = p["conductivity"]
        grad_ln_c = ufl.grad(model.unknowns[0]) / (c * nu_p)  # grad c+ / c+
        return -kappa * ufl.grad(model.phi) + kappa / model.f * factor * grad_ln_c

    def flux(self, model: CellModel, name: str) -> Expr:
        """``N+ = -D grad c+ + t+ i/(z+ F)``, ``N- = -D grad c- + (1 - t+) i/(z- F)``
        (mol/(m^2 s))."""
        cation, anion, _, _ = salt_numbers(model.electrolyte)
        c, p = self._fields(model)
        i = self._current(model, c, p)
        c_k = self.concentration(model, name)
        if name == cation.name:
            return -p["diffusivity"] * ufl.grad(c_k) + p["transference"] * i / (
                cation.charge * FARADAY
            )
        return -p["diffusivity"] * ufl.grad(c_k) + (1 - p["transference"]) * i / (
            anion.charge * FARADAY
        )
