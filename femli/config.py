"""Case files: TOML -> validated configuration -> physics objects.

This is the only module that reads user case files. Validation (pydantic) happens
before any mesh or solve; every problem is reported as one line naming the key, the
value and what is allowed, and :class:`ConfigError` carries all of them.

Units: SI throughout (m^2/s, mol/m^3, S/m, A/m^2, V, K); geometry parameters in um.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from femli.physics import kinetics as kin
from femli.physics.conditions import Bulk, Electrode
from femli.physics.electrolyte import Electrolyte, RegionProperties, Species
from femli.validation import FolderName, ProblemsError, describe

Positive = Annotated[float, Field(gt=0)]


class ConfigError(ProblemsError):
    """Invalid case file; ``problems`` holds one message per bad key."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        super().__init__(problems, source)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SpeciesConfig(Strict):
    name: str = Field(min_length=1)
    charge: int = Field(description="charge number z (non-zero)")
    diffusivity: Positive = Field(description="m^2/s")
    concentration: Positive = Field(description="bulk concentration, mol/m^3")

    @model_validator(mode="after")
    def _charge(self) -> SpeciesConfig:
        if self.charge == 0:
            raise ValueError("charge must be a non-zero integer")
        return self


class RegionConfig(Strict):
    region: str
    diffusivity: dict[str, Positive] = Field(default_factory=dict)
    conductivity: Positive | None = None
    porosity: Annotated[float, Field(gt=0, le=1)] = 1.0
    tortuosity: Annotated[float, Field(ge=1)] = 1.0


def _default_species() -> list[SpeciesConfig]:
    return [
        SpeciesConfig(name="Li+", charge=1, diffusivity=5e-10, concentration=1000.0),
        SpeciesConfig(name="TFSI-", charge=-1, diffusivity=5e-10, concentration=1000.0),
    ]


class ElectrolyteConfig(Strict):
    model: Literal["primary", "secondary", "tertiary", "supporting"] = "tertiary"
    temperature: Positive = 298.15
    reacting: str = "Li+"
    conductivity: Positive | None = None
    transference: Annotated[float, Field(ge=0, lt=1)] = 0.0
    species: list[SpeciesConfig] = Field(default_factory=_default_species, min_length=1)
    regions: list[RegionConfig] = Field(default_factory=list)


class KineticsConfig(Strict):
    type: Literal["butler-volmer", "tafel", "linear", "inert"] = "butler-volmer"
    exchange_current: Positive | None = Field(None, description="A/m^2")
    alpha_a: Positive = 0.5
    alpha_c: Positive = 0.5
    alpha: Positive = 0.5
    direction: Literal["cathodic", "anodic"] = "cathodic"
    concentration_dependent: bool = False
    reference_concentration: Positive | None = None

    @model_validator(mode="after")
    def _needs_i0(self) -> KineticsConfig:
        if self.type != "inert" and self.exchange_current is None:
            raise ValueError(f"{self.type} kinetics need exchange_current (A/m^2, > 0)")
        return self


class ElectrodeConfig(Strict):
    name: str = "electrode"
    kinetics: dict[str, KineticsConfig] = Field(min_length=1)
    potential: float | None = Field(None, description="V")
    current_density: float | None = Field(None, description="A/m^2, anodic positive")
    current_basis: Literal["electrode", "footprint"] = "electrode"
    equilibrium_potential: float = 0.0

    @model_validator(mode="after")
    def _one_control(self) -> ElectrodeConfig:
        if (self.potential is None) == (self.current_density is None):
            raise ValueError("give exactly one of potential (V) or current_density (A/m^2)")
        return self


class BulkConfig(Strict):
    boundaries: list[str] = Field(default_factory=lambda: ["bulk"], min_length=1)
    potential: float = 0.0
    concentrations: dict[str, Positive] = Field(default_factory=dict)


class GeometryConfig(BaseModel):
    """``preset`` and/or ``kind`` plus builder parameters, or a ``mesh`` file."""

    model_config = ConfigDict(extra="allow", frozen=True)
    preset: str | None = None
    kind: str | None = None
    mesh: str | None = None

    @model_validator(mode="after")
    def _source(self) -> GeometryConfig:
        if self.mesh is None and self.preset is None and self.kind is None:
            raise ValueError("give a preset, a kind (with parameters) or a mesh file")
        return self

    @property
    def params(self) -> dict[str, Any]:
        """Builder parameters (extra keys)."""
        return dict(self.model_extra or {})


class SolverConfig(Strict):
    preset: Literal["auto", "direct", "iterative"] = "auto"
    initial_guess: Literal["secondary", "uniform"] = "secondary"
    max_continuation_steps: Annotated[int, Field(ge=1, le=10_000)] = 64


class TimeConfig(Strict):
    """A time-dependent run from the uniform bulk state (times in s)."""

    t_end: Positive
    dt_initial: Positive | None = None
    dt_min: Positive | None = None
    dt_max: Positive | None = None
    scheme: Literal["bdf1", "bdf2"] = "bdf2"
    tolerance: Positive = 1.0e-4
    stop_when_depleted: Annotated[float, Field(gt=0, lt=1)] | None = None


class GrowthConfig(Strict):
    """Deposition growth on a moving electrode. ``electrochemistry``: ``stationary``
    (steady state on each shape) or ``transient`` (concentrations carried between steps,
    BDF step with error control: ``tolerance``, ``dt_initial``). ``merge_gap`` (um, 2D
    only): deposits closer than this fuse and the electrolyte they enclose is trapped."""

    t_end: Positive = Field(description="s")
    electrochemistry: Literal["stationary", "transient"] = "stationary"
    tolerance: Positive | None = Field(None, description="transient: local time error")
    dt_initial: Positive | None = Field(None, description="s, transient: first step")
    max_displacement: Positive = Field(0.02, description="um of boundary motion per step")
    min_quality: Annotated[float, Field(gt=0, lt=1)] = 0.2
    snapshots: list[Annotated[float, Field(ge=0)]] = Field(default_factory=list)
    molar_mass: Positive = Field(6.94e-3, description="kg/mol (Li)")
    density: Positive = Field(534.0, description="kg/m^3 (Li)")
    charge: Annotated[int, Field(ge=1)] = 1
    merge_gap: Annotated[float, Field(ge=0)] | None = Field(
        None, description="um: deposits closer than this fuse (2D); 0 or absent: no merging"
    )


class OutputConfig(Strict):
    """What a run writes besides metrics.json, and how often [time]/[growth] runs checkpoint.

    Checkpoints (``checkpoint/`` in the results folder, for ``femli run --restart``) are
    written every ``checkpoint_interval`` accepted steps and/or every
    ``checkpoint_period`` s of simulated time; neither given: no checkpoints.
    """

    renders: bool = True
    fields: bool = True
    checkpoint_interval: Annotated[int, Field(ge=1)] | None = Field(None, description="steps")
    checkpoint_period: Positive | None = Field(None, description="s of simulated time")


class CaseConfig(Strict):
    name: FolderName = "case"  # the default results folder: results/<name>
    description: str = ""
    geometry: GeometryConfig
    electrolyte: ElectrolyteConfig = Field(default_factory=ElectrolyteConfig)
    electrodes: list[ElectrodeConfig] = Field(min_length=1)
    bulk: list[BulkConfig] = Field(default_factory=lambda: [BulkConfig()])
    solver: SolverConfig = Field(default_factory=SolverConfig)
    time: TimeConfig | None = None
    growth: GrowthConfig | None = None
    output: OutputConfig = Field(default_factory=OutputConfig)

    def effective(self) -> dict[str, Any]:
        """The configuration with every default filled in (plain data)."""
        return self.model_dump(mode="json", exclude_none=True)

    def digest(self) -> str:
        """SHA-256 of the effective configuration (stable key order)."""
        text = json.dumps(self.effective(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def parse_case(data: dict[str, Any], source: str = "config") -> CaseConfig:
    """Validate a case dictionary; raises :class:`ConfigError` listing every problem."""
    try:
        config = CaseConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError([describe(e, data, CaseConfig) for e in err.errors()], source) from None
    problems = semantic_problems(config)
    if problems:
        raise ConfigError(problems, source)
    return config


def load_case(path: str | Path) -> CaseConfig:
    """Read and validate a TOML case file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"case file {str(path)!r} does not exist"], str(path))
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"not valid TOML: {err}"], str(path)) from None
    return parse_case(data, str(path))


def semantic_problems(config: CaseConfig) -> list[str]:
    """Cross-field checks the schema cannot express (built objects validate physics)."""
    problems = []
    try:
        electrolyte(config)
    except ValueError as err:
        problems.append(f"electrolyte: {err}")
    for k, e in enumerate(config.electrodes):
        try:
            electrode(e)
        except ValueError as err:
            problems.append(f"electrodes[{k}]: {err}")
    if config.time is not None:
        try:
            transient_options(config)
        except ValueError as err:
            problems.append(f"time: {err}")
    if config.time is not None and config.growth is not None:
        problems.append(
            "give [time] (transient, fixed shape) or [growth], not both (a growth run "
            'advances the concentrations in time with [growth] electrochemistry = "transient")'
        )
    names = [e.name for e in config.electrodes]
    if len(set(names)) != len(names):
        problems.append(f"electrodes: names must be unique, got {names}")
    return problems + _condition_problems(config) + _run_kind_problems(config)


def _condition_problems(config: CaseConfig) -> list[str]:
    """Boundaries named twice, species names that match no species, no potential reference."""
    problems = []
    named = [b for e in config.electrodes for b in e.kinetics]
    named += [b for bulk in config.bulk for b in bulk.boundaries]
    twice = sorted({n for n in named if named.count(n) > 1})
    if twice:
        problems.append(f"boundaries named by more than one condition: {twice}")
    species = [s.name for s in config.electrolyte.species]
    for k, bulk in enumerate(config.bulk):
        for name in bulk.concentrations:
            if name not in species:
                problems.append(f"bulk[{k}].concentrations: no species named {name!r} ({species})")
    for k, region in enumerate(config.electrolyte.regions):
        for name in region.diffusivity:
            if name not in species:
                problems.append(
                    f"electrolyte.regions[{k}].diffusivity: no species named {name!r} ({species})"
                )
    if not config.bulk and all(e.potential is None for e in config.electrodes):
        problems.append(
            "the electrolyte potential has no reference: give a [[bulk]] boundary or "
            "a potentiostatic electrode (potential in V)"
        )
    return problems


def _run_kind_problems(config: CaseConfig) -> list[str]:
    """What [growth] needs, and checkpoints only where there are steps."""
    problems = []
    if config.growth is not None:
        if config.electrolyte.model == "primary":
            problems.append("growth needs electrode kinetics: use the secondary model or above")
        laws = [k.type for e in config.electrodes for k in e.kinetics.values()]
        if all(t == "inert" for t in laws):
            problems.append("growth: no depositing boundary (every electrode part is inert)")
        problems += _growth_chemistry_problems(config.growth, config.electrolyte.model)
    out = config.output
    wants = out.checkpoint_interval is not None or out.checkpoint_period is not None
    if wants and config.time is None and config.growth is None:
        problems.append(
            "output.checkpoint_interval / checkpoint_period apply to [time] and [growth] runs"
        )
    return problems


def _growth_chemistry_problems(growth: GrowthConfig, model: str) -> list[str]:
    """Transient growth needs concentrations; its step controls need transient growth."""
    if growth.electrochemistry == "stationary":
        given = [k for k in ("tolerance", "dt_initial") if getattr(growth, k) is not None]
        return [
            f'growth.{k} applies to electrochemistry = "transient" only (this growth is '
            '"stationary")'
            for k in given
        ]
    if model in ("primary", "secondary"):
        return [
            'growth.electrochemistry = "transient" needs a concentration model: electrolyte.'
            f'model "tertiary" or "supporting" (got "{model}", which has no concentration)'
        ]
    return []


def growth_dimension_problems(config: CaseConfig, dim: int | None) -> list[str]:
    """[growth] keys that need a 2D geometry (``dim``: the geometry's dimension, None if
    not known before meshing)."""
    gap = config.growth.merge_gap if config.growth is not None else None
    if not gap or dim in (None, 2):
        return []
    return [
        f"growth.merge_gap = {gap:g}: merging deposits is implemented for 2D geometries "
        f"only, and this geometry is {dim}D; allowed in 3D: merge_gap = 0 or no merge_gap"
    ]


def electrolyte(config: CaseConfig) -> Electrolyte:
    """The :class:`Electrolyte` a case describes."""
    e = config.electrolyte
    species = tuple(Species(**s.model_dump()) for s in e.species)
    regions = tuple(RegionProperties(**r.model_dump()) for r in e.regions)
    return Electrolyte(
        species,
        model=e.model,
        reacting=e.reacting,
        temperature=e.temperature,
        conductivity=e.conductivity,
        transference=e.transference,
        regions=regions,
    )


def kinetics(k: KineticsConfig) -> kin.Kinetics:
    """The kinetics law a configuration block describes."""
    common = {
        "concentration_dependent": k.concentration_dependent,
        "reference_concentration": k.reference_concentration,
    }
    if k.type == "butler-volmer":
        return kin.ButlerVolmer(k.exchange_current, k.alpha_a, k.alpha_c, **common)
    if k.type == "tafel":
        return kin.Tafel(k.exchange_current, k.alpha, k.direction, **common)
    if k.type == "linear":
        return kin.Linear(k.exchange_current, k.alpha_a, k.alpha_c, **common)
    return kin.Inert(**common)


def electrode(e: ElectrodeConfig, footprint: float | None = None) -> Electrode:
    """The :class:`Electrode` a configuration block describes.

    ``footprint`` (m^2; m in 2D) is the reference area when ``current_basis`` is
    ``"footprint"``.
    """
    laws = {name: kinetics(k) for name, k in e.kinetics.items()}
    area = footprint if e.current_basis == "footprint" else None
    return Electrode(e.name, laws, e.potential, e.current_density, e.equilibrium_potential, area)


def bulk(b: BulkConfig) -> Bulk:
    """The :class:`Bulk` condition a configuration block describes."""
    return Bulk(tuple(b.boundaries), b.potential, dict(b.concentrations))


def transient_options(config: CaseConfig):
    """:class:`~femli.solve.transient.TransientOptions` of a case with a ``[time]`` block."""
    from femli.solve.transient import TransientOptions

    t = config.time
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
