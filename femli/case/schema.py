"""Case files: TOML -> validated configuration -> physics objects.

This is the only module that reads user case files. Validation (pydantic) happens
before any mesh or solve; every problem is reported as one line naming the key, the
value and what is allowed, and :class:`ConfigError` carries all of them.

Units: SI throughout (m^2/s, mol/m^3, S/m, A/m^2, V, K); geometry parameters in um.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from femli.case.messages import FolderName, shorten

Positive = Annotated[float, Field(gt=0)]

#: Largest charge number |z| of a species (and of a deposited ion in [growth]).
MAX_CHARGE = 10


class Strict(BaseModel):
    """Unknown keys are errors; numbers must be numbers (true/false and "1.0" are not),
    integers integers, and finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class SpeciesConfig(Strict):
    name: str = Field(min_length=1)
    charge: int = Field(description=f"charge number z (non-zero, |z| <= {MAX_CHARGE})")
    diffusivity: Positive = Field(description="m^2/s")
    concentration: Positive = Field(description="bulk concentration, mol/m^3")

    @field_validator("charge")
    @classmethod
    def _charge(cls, z: int) -> int:
        if z == 0 or abs(z) > MAX_CHARGE:
            raise ValueError(
                f"the charge number must be a non-zero integer from -{MAX_CHARGE} to {MAX_CHARGE}"
            )
        return z


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

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    preset: str | None = None
    kind: str | None = None
    mesh: str | None = None

    @model_validator(mode="after")
    def _source(self) -> GeometryConfig:
        if self.mesh is None and self.preset is None and self.kind is None:
            raise ValueError("give a preset, a kind (with parameters) or a mesh file")
        ignored = [k for k in ("preset", "kind") if getattr(self, k) is not None]
        ignored += list(self.params)
        if self.mesh is not None and ignored:
            raise ValueError(
                f"mesh = {shorten(self.mesh)} is a whole geometry, so {shorten(ignored)} "
                "would be ignored: give either mesh or a preset/kind with parameters"
            )
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
    charge: Annotated[int, Field(ge=1, le=MAX_CHARGE)] = 1
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
    _source: str = PrivateAttr("config")

    @property
    def source(self) -> str:
        """Where the case came from (its file), for messages."""
        return self._source

    def effective(self) -> dict[str, Any]:
        """The configuration with every default filled in (plain data)."""
        return self.model_dump(mode="json", exclude_none=True)

    def digest(self) -> str:
        """SHA-256 of the effective configuration (stable key order)."""
        text = json.dumps(self.effective(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()
