"""A validated case -> the objects that run it: domain, cell model and solver options.

The one place where the case file's plain data become physics and solver objects
(:mod:`femli.case.schema` holds the schema alone). The case's ``[growth]`` lengths in um
(``max_displacement_um``, ``merge_gap_um``) cross to SI here, with
:func:`femli.units.um`. The geometry stays in um through Gmsh and crosses once, when the
mesh enters DOLFINx (:mod:`femli.mesh`, :data:`femli.units.MESH_UNIT`); everything else
in a case file is SI already.

Temperature: with ``electrolyte.reference_temperature`` the case's diffusivities,
conductivities, exchange currents and film resistances are values at that temperature;
they are scaled here to the run temperature ``electrolyte.temperature`` with their
activation energies (:class:`femli.physics.temperature.Arrhenius`, :func:`arrhenius`), so
the physics objects hold values at one temperature.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from femli.case.schema import (
    POSITION_VARIABLES,
    BulkConfig,
    CaseConfig,
    ElectrodeConfig,
    FilmConfig,
    GeometryConfig,
    KineticsConfig,
    ReactionConfig,
)
from femli.expressions import parse
from femli.growth.options import GrowthOptions, Metal
from femli.mesh import Domain, build_domain, read_msh
from femli.messages import ConfigError, shorten
from femli.physics import kinetics as kin
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, RegionProperties, Species
from femli.physics.interface import DoubleLayer, Film, Reaction
from femli.physics.model import CellModel
from femli.physics.properties import (
    PROPERTY_NAMES,
    ConcentratedProperties,
    load_set,
    make_property,
)
from femli.physics.temperature import Arrhenius
from femli.solve.bdf import TransientOptions
from femli.solve.stationary import StationaryOptions
from femli.units import um

__all__ = [
    "arrhenius",
    "axisymmetric",
    "bulk",
    "bulk_value_problems",
    "electrode",
    "electrolyte",
    "film",
    "geometry_params",
    "growth_options",
    "interface",
    "kinetics",
    "make_domain",
    "make_model",
    "mesh_path",
    "position_function",
    "properties",
    "stationary_options",
    "transient_options",
]


# -- geometry ---------------------------------------------------------------------------
def mesh_path(config: CaseConfig, base: Path) -> Path | None:
    """The case's mesh file (relative paths from ``base``, the case file's folder), or
    None for a builder geometry."""
    mesh = config.geometry.mesh
    if mesh is None:
        return None
    return Path(mesh) if Path(mesh).is_absolute() else Path(base) / mesh


def geometry_params(geometry: GeometryConfig) -> tuple[str, dict[str, Any]]:
    """Builder kind and parameters (um) of a geometry block, preset values overridden;
    raises :class:`femli.geometry.GeometryError` for an unknown preset or a kind that is
    not the preset's."""
    from femli.geometry import GeometryError, load_preset

    kind = geometry.kind
    params: dict[str, Any] = {}
    if geometry.preset is not None:
        kind_preset, params = load_preset(geometry.preset)
        if kind is not None and kind != kind_preset:
            raise GeometryError(
                f"kind = {shorten(kind)} is not the kind of preset {geometry.preset!r} "
                f"({kind_preset!r}), so the preset would be ignored: give the preset alone "
                "(with parameters to change), or a kind with its parameters"
            )
        kind = kind_preset
    if kind is None:  # a mesh file (the schema requires a preset or kind without one)
        raise GeometryError("a mesh file has no builder kind and parameters")
    params.update(geometry.params)
    return kind, params


def make_domain(config: CaseConfig, comm: MPI.Comm, base: Path) -> tuple[Domain, dict]:
    """Mesh the case's geometry (or read its mesh file, relative to ``base``); returns the
    domain (m) and the geometry's summary. Collective."""
    path = mesh_path(config, base)
    if path is not None:
        try:
            domain = read_msh(path, comm, split_levels=config.geometry.split_levels or 0)
        except ValueError as err:  # malformed file: bad input, not a crash
            raise ConfigError([f"geometry.mesh: {err}"], config.source) from None
        if config.geometry.axisymmetric:
            return axisymmetric(config, domain), {"mesh": str(path), "axisymmetric": True}
        return domain, {"mesh": str(path)}
    kind, params = geometry_params(config.geometry)
    domain, summary = build_domain(kind, comm, config.geometry.split_levels or 0, **params)
    if config.geometry.axisymmetric:
        axisymmetric(config, domain)
        summary["axisymmetric"] = True
    return domain, summary


def mesh_refinement(config: CaseConfig) -> float:
    """How much finer the case's mesh is than its builder's sizes over the same grading
    distances: the builder's ``refinement`` (1 for a mesh file) times 2 per split level."""
    from femli.geometry import make_params

    split = 2.0 ** (config.geometry.split_levels or 0)
    if config.geometry.mesh is not None:
        return split
    kind, given = geometry_params(config.geometry)
    params = make_params(kind, **given)
    return float(getattr(params, "refinement", 1.0)) * split


def axisymmetric(config: CaseConfig, domain: Domain) -> Domain:
    """Read ``domain`` as r-z (:meth:`Domain.make_axisymmetric`); a :class:`ConfigError`
    naming ``geometry.axisymmetric`` if it cannot be. Collective."""
    try:
        return domain.make_axisymmetric()
    except ValueError as err:
        raise ConfigError([f"geometry.axisymmetric = true: {err}"], config.source) from None


# -- physics ----------------------------------------------------------------------------
Scaling = Callable[[float | None], float]


def arrhenius(config: CaseConfig) -> Scaling:
    """``factor(E_a)``: a property's value at the run temperature over its value at
    ``electrolyte.reference_temperature`` for an activation energy in J/mol (``None``:
    1; no reference temperature: 1)."""
    e = config.electrolyte
    reference = e.reference_temperature

    def factor(energy: float | None) -> float:
        if reference is None or energy is None:
            return 1.0
        return Arrhenius(energy, reference).factor(e.temperature)

    return factor


def _no_scaling(energy: float | None) -> float:
    return 1.0


def electrolyte(config: CaseConfig) -> Electrolyte:
    """The :class:`Electrolyte` a case describes (values at the run temperature)."""
    e, factor = config.electrolyte, arrhenius(config)
    scale = {s.name: factor(s.diffusivity_activation_energy) for s in e.species}
    kappa = factor(e.conductivity_activation_energy)
    species = tuple(
        Species(s.name, s.charge, s.diffusivity * scale[s.name], s.concentration) for s in e.species
    )
    regions = tuple(_region(r.model_dump(), scale, kappa) for r in e.regions)
    return Electrolyte(
        species,
        model=e.model,
        reacting=e.reacting,
        temperature=e.temperature,
        conductivity=None if e.conductivity is None else e.conductivity * kappa,
        transference=e.transference,
        regions=regions,
        properties=properties(config),
    )


def _region(values: dict, scale: dict[str, float], kappa: float) -> RegionProperties:
    """A region's properties with its D and kappa at the run temperature."""
    values["diffusivity"] = {n: d * scale.get(n, 1.0) for n, d in values["diffusivity"].items()}
    if values["conductivity"] is not None:
        values["conductivity"] *= kappa
    return RegionProperties(**values)


def properties(config: CaseConfig) -> ConcentratedProperties | None:
    """The concentrated-electrolyte properties of a case: its parameter set's values (if
    it names one) overridden by the properties it gives; None without [electrolyte.properties]."""
    p = config.electrolyte.properties
    if p is None:
        return None
    data = load_set(p.set) if p.set is not None else {}
    data |= {k: getattr(p, k) for k in PROPERTY_NAMES if getattr(p, k) is not None}
    made = {k: make_property(v) for k, v in data.items()}
    return ConcentratedProperties(**made, source=p.set or "")


def kinetics(k: ReactionConfig, factor: Scaling = _no_scaling) -> kin.Kinetics:
    """The kinetics law a configuration block describes (``factor``: the Arrhenius
    scaling of its exchange current, see :func:`arrhenius`)."""
    common: dict[str, Any] = {
        "concentration_dependent": k.concentration_dependent,
        "reference_concentration": k.reference_concentration,
    }
    if k.type == "inert":
        return kin.Inert(**common)
    # the schema requires exchange_current for these types
    i0 = float(k.exchange_current or 0.0) * factor(k.activation_energy)
    if k.type == "butler-volmer":
        return kin.ButlerVolmer(i0, k.alpha_a, k.alpha_c, **common)
    if k.type == "tafel":
        return kin.Tafel(i0, k.alpha, k.direction, **common)
    return kin.Linear(i0, k.alpha_a, k.alpha_c, **common)


def _reaction(r: ReactionConfig, factor: Scaling, main: bool, name: str) -> Reaction:
    stoichiometry = None if r.stoichiometry is None else dict(r.stoichiometry)
    deposits = main if r.deposits is None else r.deposits
    law = kinetics(r, factor)
    return Reaction(law, r.equilibrium_potential, stoichiometry, deposits, r.name or name)


def interface(k: KineticsConfig, factor: Scaling = _no_scaling):
    """A boundary's reactions: a bare law when the block has one reaction with the
    defaults (the main one: ``"main"``, side reactions ``"side_1"``, ...), else a tuple
    of :class:`~femli.physics.interface.Reaction`."""
    sides = k.side_reactions or []
    own = (k.name, k.equilibrium_potential, k.stoichiometry, k.deposits)
    if not sides and own == (None, None, None, None):
        return kinetics(k, factor)
    main = _reaction(k, factor, True, "main")
    return (main, *(_reaction(r, factor, False, f"side_{n + 1}") for n, r in enumerate(sides)))


def film(f: FilmConfig, factor: Scaling = _no_scaling) -> Film:
    """The :class:`~femli.physics.interface.Film` a block describes; its resistance (and
    growth) at the run temperature: divided by the conductance's Arrhenius factor."""
    scale = factor(f.activation_energy)
    if f.resistance is not None:
        return Film(resistance=f.resistance / scale, growth=(f.growth or 0.0) / scale)
    conductivity = None if f.conductivity is None else f.conductivity * scale
    return Film(thickness=f.thickness, conductivity=conductivity, growth=(f.growth or 0.0) / scale)


def electrode(
    e: ElectrodeConfig, footprint: float | None = None, factor: Scaling = _no_scaling
) -> Electrode:
    """The :class:`Electrode` a configuration block describes.

    ``footprint`` (m^2; m in 2D) is the reference area when ``current_basis`` is
    ``"footprint"``; ``factor`` the case's Arrhenius scaling (:func:`arrhenius`).
    """
    laws = {name: interface(k, factor) for name, k in e.kinetics.items()}
    films = {name: film(k.film, factor) for name, k in e.kinetics.items() if k.film is not None}
    area = footprint if e.current_basis == "footprint" else None
    capacitance = e.double_layer_capacitance
    layer = None if capacitance is None else DoubleLayer(capacitance)
    return Electrode(
        e.name,
        laws,
        e.potential,
        e.current_density,
        e.equilibrium_potential,
        area,
        films=films,
        double_layer=layer,
    )


def position_function(value: float | str) -> float | Callable[[np.ndarray], np.ndarray]:
    """A number as it is; an expression in x, y, z (m) as a function of the (3, n)
    coordinate array (m) returning n values."""
    if not isinstance(value, str):
        return float(value)
    expression = parse(value, POSITION_VARIABLES)

    def at(x: np.ndarray) -> np.ndarray:
        out = expression.evaluate("numpy", x=x[0], y=x[1], z=x[2])
        return np.broadcast_to(np.asarray(out, dtype=float), x.shape[1:]).copy()

    return at


def bulk(b: BulkConfig) -> Bulk:
    """The :class:`Bulk` condition a configuration block describes (values that are
    expressions in x, y, z become functions of the coordinates)."""
    concentrations = {k: position_function(v) for k, v in b.concentrations.items()}
    return Bulk(tuple(b.boundaries), position_function(b.potential), concentrations)


def bulk_value_problems(config: CaseConfig, domain: Domain) -> list[str]:
    """Bulk values given as expressions that are not finite (or, concentrations, not > 0
    mol/m3) at some vertex of their boundaries. Collective."""
    problems = []
    for k, b in enumerate(config.bulk):
        points = _boundary_points(domain, b.boundaries)
        items = [("potential", b.potential)] + [
            (f"concentrations.{n}", v) for n, v in b.concentrations.items()
        ]
        for key, value in items:
            if not isinstance(value, str):
                continue
            values = position_function(value)(points)  # type: ignore[operator]
            ok = np.isfinite(values) & (values > 0 if key != "potential" else True)
            found = domain.comm.allgather(float(values[~ok][0]) if (~ok).any() else None)
            bad = next((v for v in found if v is not None), None)
            if bad is not None:
                what = "finite" if key == "potential" else "finite and > 0 mol/m3"
                problems.append(
                    f"bulk[{k}].{key} = {shorten(value)}: gives {bad:.4g} on "
                    f"{shorten(b.boundaries)}; it must be {what} there"
                )
    return problems


def _boundary_points(domain: Domain, names: list[str]) -> np.ndarray:
    """(3, n) coordinates (m) of this rank's vertices on the named boundaries."""
    import dolfinx

    mesh = domain.mesh
    mesh.topology.create_connectivity(domain.dim - 1, domain.dim)
    nodes = dolfinx.mesh.entities_to_geometry(mesh, domain.dim - 1, domain.facets(*names))
    nodes = np.unique(nodes.ravel())
    return mesh.geometry.x[nodes].T


def make_model(config: CaseConfig, domain: Domain) -> CellModel:
    """The cell model a case describes on ``domain`` (read as r-z if the case says
    ``axisymmetric = true``, e.g. a domain restored from a checkpoint). Collective."""
    if config.geometry.axisymmetric and not domain.axisymmetric:
        axisymmetric(config, domain)
    footprint = domain.footprint_area()
    factor = arrhenius(config)
    electrodes = [electrode(e, footprint, factor) for e in config.electrodes]
    problems = bulk_value_problems(config, domain)
    if problems:
        raise ConfigError(problems, config.source)
    return CellModel(domain, electrolyte(config), electrodes, [bulk(b) for b in config.bulk])


# -- solver options ---------------------------------------------------------------------
def stationary_options(config: CaseConfig) -> StationaryOptions:
    """The stationary solve's controls (``[solver]``)."""
    s = config.solver
    return StationaryOptions(s.preset, s.initial_guess, s.max_continuation_steps)


def transient_options(config: CaseConfig) -> TransientOptions:
    """:class:`~femli.solve.bdf.TransientOptions` of a case with a ``[time]`` block (s)."""
    t = config.time
    if t is None:
        raise ValueError("the case has no [time] block")
    return TransientOptions(
        t_end=t.t_end,
        dt_initial=t.dt_initial,
        dt_min=t.dt_min,
        dt_max=t.dt_max,
        scheme=t.scheme,
        tolerance=t.tolerance,
        preset=config.solver.preset,
        stop_when_depleted=t.stop_when_depleted,
    )


def growth_options(config: CaseConfig) -> GrowthOptions:
    """Growth controls of a case with a ``[growth]`` block (SI: the case's um lengths
    cross to m here)."""
    g, s = config.growth, config.solver
    if g is None:
        raise ValueError("the case has no [growth] block")
    metal = Metal(g.molar_mass, g.density, g.charge)
    transient = TransientOptions(
        t_end=g.t_end, dt_initial=g.dt_initial, tolerance=g.tolerance or 1e-4, preset=s.preset
    )
    names = [b for e in config.electrodes for b in e.kinetics]
    return GrowthOptions(
        t_end=g.t_end,
        max_displacement=um(g.max_displacement_um),
        min_quality=g.min_quality,
        metals=dict.fromkeys(names, metal),
        snapshots=tuple(sorted({*g.snapshots, g.t_end})),
        stationary=stationary_options(config),
        transient=None if g.electrochemistry == "stationary" else transient,
        merge_gap=um(g.merge_gap_um) if g.merge_gap_um else None,  # 0 or absent: no merging
        refinement=mesh_refinement(config),
    )
