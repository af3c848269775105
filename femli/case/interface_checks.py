"""Cross-field rules of the interface and temperature keys of a case file.

What the schema cannot say about reactions (their species and charge balance), films,
double layers and activation energies: one line per problem, naming the key, its value
and what is allowed (:mod:`femli.case.checks` runs them with its other rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from femli.case.schema import CaseConfig, ElectrodeConfig, ReactionConfig
from femli.messages import shorten
from femli.physics.electrolyte import Electrolyte
from femli.physics.interface import Reaction
from femli.physics.kinetics import Inert
from femli.physics.properties import load_set
from femli.physics.transport import transport_class

__all__ = [
    "interface_problems",
    "reactions",
    "temperature_problems",
]


def reactions(e: ElectrodeConfig) -> Iterator[tuple[str, ReactionConfig, bool]]:
    """(key, block, main?) of every reaction of an electrode (key below the electrode)."""
    for boundary, k in e.kinetics.items():
        yield f"kinetics.{boundary}", k, True
        for n, side in enumerate(k.side_reactions or []):
            yield f"kinetics.{boundary}.side_reactions[{n}]", side, False


def _time_dependent(config: CaseConfig) -> bool:
    growth = config.growth
    return config.time is not None or (
        growth is not None and growth.electrochemistry == "transient"
    )


def interface_problems(
    config: CaseConfig, ok: Callable[..., bool], made: Electrolyte | None
) -> list[str]:
    """Reactions that name unknown species or do not conserve charge (``made``: the
    case's electrolyte, None if it has problems), interface keys the transport model or
    the run kind cannot use (``ok(*sections)``: whether those sections are valid)."""
    if not ok("electrodes"):
        return []
    problems = []
    model = config.electrolyte.model
    kinetic = transport_class(model).has_kinetics if ok("electrolyte") else True
    stepping = _time_dependent(config) if ok("time", "growth") else True
    for k, e in enumerate(config.electrodes):
        where = f"electrodes[{k}]"
        for key, block, main in reactions(e):
            if made is not None and block.stoichiometry is not None:
                try:
                    Reaction(Inert(), stoichiometry=dict(block.stoichiometry)).check(made)
                except ValueError as err:
                    text = str(err).removeprefix("reaction '': ")
                    problems.append(
                        f"{where}.{key}.stoichiometry = {shorten(block.stoichiometry)}: {text}"
                    )
            if not main and not kinetic:
                problems.append(_needs_kinetics(f"{where}.{key}", model))
        for boundary, block in e.kinetics.items():
            film = block.film
            if film is not None and not kinetic:
                problems.append(_needs_kinetics(f"{where}.kinetics.{boundary}.film", model))
            if film is not None and film.growth and not stepping:
                problems.append(
                    f"{where}.kinetics.{boundary}.film.growth = {shorten(film.growth)}: a film "
                    'grows in [time] runs and [growth] electrochemistry = "transient" only '
                    "(this case has neither); remove it or give [time]"
                )
        capacitance = e.double_layer_capacitance
        if capacitance is not None and not kinetic:
            problems.append(_needs_kinetics(f"{where}.double_layer_capacitance", model))
        elif capacitance is not None and not stepping:
            problems.append(
                f"{where}.double_layer_capacitance = {shorten(capacitance)}: the double layer "
                'charges in [time] runs and [growth] electrochemistry = "transient" only (a '
                "steady state has no charging current); remove it or give [time]"
            )
    return problems


def _needs_kinetics(key: str, model: str) -> str:
    return (
        f'{key}: needs electrode kinetics, and electrolyte.model = "{model}" has none '
        '(the potential is fixed on its electrodes); use "secondary" or above'
    )


def temperature_problems(config: CaseConfig) -> list[str]:
    """Activation energies need the reference temperature; the conductivity's needs a
    conductivity."""
    e = config.electrolyte
    given = [
        f"electrolyte.species[{n}].diffusivity_activation_energy"
        for n, s in enumerate(e.species)
        if s.diffusivity_activation_energy is not None
    ]
    if e.conductivity_activation_energy is not None:
        given.append("electrolyte.conductivity_activation_energy")
    for k, electrode in enumerate(config.electrodes):
        for key, block, _ in reactions(electrode):
            if block.activation_energy is not None:
                given.append(f"electrodes[{k}].{key}.activation_energy")
        for boundary, block in electrode.kinetics.items():
            if block.film is not None and block.film.activation_energy is not None:
                given.append(f"electrodes[{k}].kinetics.{boundary}.film.activation_energy")
    problems = []
    if given and e.reference_temperature is None:
        named = ", ".join(given[:3]) + (f" and {len(given) - 3} more" if len(given) > 3 else "")
        problems.append(
            f"electrolyte.reference_temperature: missing, but activation energies (J/mol) "
            f"are given ({named}); give the temperature (K) at which the diffusivities, "
            "conductivities, exchange currents and film resistances hold"
        )
    problems += _ignored_by_properties(config)
    regional = any(r.conductivity is not None for r in e.regions)
    energy = e.conductivity_activation_energy
    if energy is not None and e.conductivity is None and not regional:
        problems.append(
            f"electrolyte.conductivity_activation_energy = {shorten(energy)}: no "
            "conductivity is given to scale (the dilute conductivity follows the species' "
            "diffusivity_activation_energy); give electrolyte.conductivity or remove it"
        )
    return problems


def _ignored_by_properties(config: CaseConfig) -> list[str]:
    """A species' diffusivity_activation_energy that would scale nothing: the concentrated
    model's [electrolyte.properties] give the salt D(c, T), and no region gives that
    species' diffusivity (the only other use of it)."""
    e = config.electrolyte
    p = e.properties
    if e.model != "concentrated" or p is None:
        return []
    try:
        from_set = load_set(p.set) if p.set is not None else {}
    except ValueError:  # the schema names an unknown set already
        return []
    source = "diffusivity" if p.diffusivity is not None else f"set {p.set!r}"
    if p.diffusivity is None and "diffusivity" not in from_set:
        return []
    problems = []
    for n, s in enumerate(e.species):
        energy = s.diffusivity_activation_energy
        if energy is None or any(s.name in r.diffusivity for r in e.regions):
            continue
        problems.append(
            f"electrolyte.species[{n}].diffusivity_activation_energy = {shorten(energy)}: "
            f"would scale nothing, the concentrated model takes the salt diffusivity from "
            f"[electrolyte.properties] ({source}); give its temperature dependence there (an "
            "expression in c and T), or remove the key"
        )
    return problems
