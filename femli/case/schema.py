"""Case files: TOML -> validated configuration -> physics objects.

This is the only module that reads user case files. Validation (pydantic) happens
before any mesh or solve; every problem is reported as one line naming the key, the
value and what is allowed, and :class:`ConfigError` carries all of them.

Units: SI throughout (m^2/s, mol/m^3, S/m, A/m^2, V, K), except the geometry builder
parameters (all in um) and keys whose name ends in ``_um`` (um); they cross to SI in
:mod:`femli.case.build` and :mod:`femli.mesh`. Keys renamed to say their unit keep their
old names as aliases (:data:`RENAMED`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)

from femli.case.values import (
    POSITION_VARIABLES,
    PropertyValue,
    parameter_set,
    position_value,
)
from femli.messages import FolderName, shorten
from femli.physics.temperature import MAX_ACTIVATION_ENERGY
from femli.physics.transport import names as transport_names

__all__ = [
    "MAX_CHARGE",
    "POSITION_VARIABLES",
    "RENAMED",
    "BulkConfig",
    "CaseConfig",
    "ElectrodeConfig",
    "ElectrolyteConfig",
    "FilmConfig",
    "GeometryConfig",
    "GrowthConfig",
    "KineticsConfig",
    "OutputConfig",
    "Positive",
    "PropertiesConfig",
    "ReactionConfig",
    "RegionConfig",
    "SolverConfig",
    "SpeciesConfig",
    "Strict",
    "TimeConfig",
]

Positive = Annotated[float, Field(gt=0)]

#: An activation energy in J/mol (Arrhenius scaling from electrolyte.reference_temperature).
ActivationEnergy = Annotated[float, Field(ge=0, lt=MAX_ACTIVATION_ENERGY)]

#: Largest charge number |z| of a species (and of a deposited ion in [growth]).
MAX_CHARGE = 10

#: Keys renamed to say their unit: section -> {old name: new name}. The old names are
#: still read, with a warning (:meth:`CaseConfig.renamed_keys`), and digests keep using
#: them (:meth:`CaseConfig.digest_data`), so results and checkpoints written before the
#: rename still belong to their case.
RENAMED: dict[str, dict[str, str]] = {
    "growth": {"max_displacement": "max_displacement_um", "merge_gap": "merge_gap_um"},
}


def _renamed(section: str, new: str) -> AliasChoices:
    """The names a renamed key is read under: its new name, then its old one."""
    old = next(o for o, n in RENAMED[section].items() if n == new)
    return AliasChoices(new, old)


class Strict(BaseModel):
    """Unknown keys are errors; numbers must be numbers (true/false and "1.0" are not),
    integers integers, and finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class SpeciesConfig(Strict):
    name: str = Field(min_length=1)
    charge: int = Field(description=f"charge number z (non-zero, |z| <= {MAX_CHARGE})")
    diffusivity: Positive = Field(description="m^2/s")
    concentration: Positive = Field(description="bulk concentration, mol/m^3")
    diffusivity_activation_energy: ActivationEnergy | None = Field(
        None,
        description="J/mol: D(T) = D exp(-Ea/R (1/T - 1/T_ref)), T_ref = "
        "electrolyte.reference_temperature (also scales the regions' D of this species)",
    )

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


def _transport_model(name: str) -> str:
    """A registered transport model (:mod:`femli.physics.transport`: the built-in four
    and any added with ``register``)."""
    if name not in transport_names():
        raise ValueError(f"must be one of {transport_names()}")
    return name


class PropertiesConfig(Strict):
    """``[electrolyte.properties]`` of model "concentrated": kappa (S/m), the salt
    diffusivity D (m^2/s), the cation transference number t+ and the thermodynamic factor
    1 + dln f/dln c; each a number, an expression in c (salt concentration, mol/m3) and T
    (K), or a table { c = [...] (mol/m3), value = [...] }. ``set`` names a shipped
    parameter set (femli/physics/electrolytes/*.toml) whose values the other keys
    override; a property given nowhere takes the species' dilute value."""

    set: Annotated[str, AfterValidator(parameter_set)] | None = None
    conductivity: PropertyValue | None = Field(None, description="S/m")
    diffusivity: PropertyValue | None = Field(None, description="m^2/s (salt)")
    transference: PropertyValue | None = Field(None, description="t+ (cation)")
    thermodynamic_factor: PropertyValue | None = Field(None, description="1 + dln f/dln c")


class ElectrolyteConfig(Strict):
    model: Annotated[str, AfterValidator(_transport_model)] = Field(
        "tertiary",
        description="transport model: primary, secondary, tertiary, supporting, concentrated",
    )
    temperature: Positive = Field(298.15, description="K: the run temperature")
    reference_temperature: Positive | None = Field(
        None,
        description="K: the temperature at which diffusivities, conductivities, exchange "
        "currents and film resistances are given; each scales to `temperature` with its "
        "activation energy (J/mol). Absent: the values are at `temperature`",
    )
    conductivity_activation_energy: ActivationEnergy | None = Field(
        None, description="J/mol, of conductivity and of the regions' conductivities"
    )
    reacting: str = "Li+"
    conductivity: Positive | None = None
    transference: Annotated[float, Field(ge=0, lt=1)] = 0.0
    species: list[SpeciesConfig] = Field(default_factory=_default_species, min_length=1)
    regions: list[RegionConfig] = Field(default_factory=list)
    properties: PropertiesConfig | None = None

    @model_validator(mode="after")
    def _properties_need_concentrated(self) -> ElectrolyteConfig:
        if self.properties is not None and self.model != "concentrated":
            raise ValueError(
                f'[electrolyte.properties] applies to model = "concentrated" only (model is '
                f'"{self.model}")'
            )
        return self


class ReactionConfig(Strict):
    """One electrode reaction: a kinetics law, its equilibrium potential, the species it
    exchanges and whether it deposits metal (a side reaction, e.g. SEI formation)."""

    type: Literal["butler-volmer", "tafel", "linear", "inert"] = "butler-volmer"
    exchange_current: Positive | None = Field(None, description="A/m^2")
    alpha_a: Positive = 0.5
    alpha_c: Positive = 0.5
    alpha: Positive = 0.5
    direction: Literal["cathodic", "anodic"] = "cathodic"
    concentration_dependent: bool = False
    reference_concentration: Positive | None = Field(None, description="mol/m^3")
    activation_energy: ActivationEnergy | None = Field(
        None, description="J/mol, of exchange_current (from electrolyte.reference_temperature)"
    )
    name: str | None = Field(None, min_length=1, description="label in metrics.json")
    equilibrium_potential: float | None = Field(None, description="V; default: the electrode's")
    stoichiometry: dict[str, float] | None = Field(
        None,
        description="species -> mol produced per mol of electrons, the reaction written in "
        "the anodic direction (consumed: negative); sum of charge x value = 1; default: "
        "{reacting ion = 1/z}",
    )
    deposits: bool | None = Field(
        None,
        description="the reaction deposits (strips) metal: growth moves the surface with "
        "its current; default true for a boundary's main reaction, false for side reactions",
    )

    @model_validator(mode="after")
    def _needs_i0(self) -> ReactionConfig:
        if self.type != "inert" and self.exchange_current is None:
            raise ValueError(f"{self.type} kinetics need exchange_current (A/m^2, > 0)")
        return self


class FilmConfig(Strict):
    """A surface film (SEI) in series with the reactions: eta = E_s - phi - E_eq - i R."""

    resistance: Positive | None = Field(None, description="ohm m^2")
    thickness: Positive | None = Field(None, description="m")
    conductivity: Positive | None = Field(None, description="S/m, the film's ionic conductivity")
    growth: Annotated[float, Field(ge=0)] | None = Field(
        None,
        description="ohm m^2 per C/m^2: R grows with the charge density passed through the "
        "film ([time] runs and transient growth)",
    )
    activation_energy: ActivationEnergy | None = Field(
        None, description="J/mol, of the film's conductance 1/R"
    )

    @model_validator(mode="after")
    def _one_resistance(self) -> FilmConfig:
        layer = (self.thickness, self.conductivity)
        if self.resistance is None and None in layer:
            raise ValueError("give resistance (ohm m^2), or thickness (m) and conductivity (S/m)")
        if self.resistance is not None and layer != (None, None):
            raise ValueError(
                "give resistance (ohm m^2) or thickness (m) with conductivity (S/m), not both"
            )
        return self


class KineticsConfig(ReactionConfig):
    """The interface of one electrode boundary: its main reaction (the keys of
    :class:`ReactionConfig`), further reactions and a surface film."""

    side_reactions: list[ReactionConfig] | None = Field(
        None, description="further reactions on this boundary (e.g. SEI formation)"
    )
    film: FilmConfig | None = Field(
        None, description="surface film (SEI) in series: ohm m^2, or m and S/m (FilmConfig)"
    )


class ElectrodeConfig(Strict):
    name: str = "electrode"
    kinetics: dict[str, KineticsConfig] = Field(min_length=1)
    potential: float | None = Field(None, description="V")
    current_density: float | None = Field(None, description="A/m^2, anodic positive")
    current_basis: Literal["electrode", "footprint"] = "electrode"
    equilibrium_potential: float = Field(0.0, description="V")
    double_layer_capacitance: Positive | None = Field(
        None, description="F/m^2: charging current in [time] runs and transient growth"
    )

    @model_validator(mode="after")
    def _one_control(self) -> ElectrodeConfig:
        if (self.potential is None) == (self.current_density is None):
            raise ValueError("give exactly one of potential (V) or current_density (A/m^2)")
        return self


class BulkConfig(Strict):
    """A reservoir boundary: ``potential`` (V) and ``concentrations`` (mol/m3), each a number
    or an expression in x, y, z (m), e.g. "1000 + 1e7*x"."""

    boundaries: list[str] = Field(default_factory=lambda: ["bulk"], min_length=1)
    potential: Annotated[Any, AfterValidator(position_value(False))] = Field(
        0.0, description="V, or an expression in x, y, z (m)"
    )
    concentrations: dict[str, Annotated[Any, AfterValidator(position_value(True))]] = Field(
        default_factory=dict, description="mol/m3, or expressions in x, y, z (m)"
    )


class GeometryConfig(BaseModel):
    """``preset`` and/or ``kind`` plus builder parameters, or a ``mesh`` file."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    preset: str | None = None
    kind: str | None = None
    mesh: str | None = None
    #: true: a 2D geometry is the r-z half plane of a body of revolution (x = r >= 0 m,
    #: y = z); absent (None) or false: planar. None by default so digests stay as they were.
    axisymmetric: bool | None = None

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
    BDF step with error control: ``tolerance``, ``dt_initial``). ``max_displacement_um``:
    the largest boundary motion per step (um). ``merge_gap_um``: deposits
    closer than this (um) fuse and the electrolyte they enclose is trapped (3D: in a
    box-shaped cell, through a level-set rebuild of the mesh). The old names
    ``max_displacement`` and ``merge_gap`` are still read (:data:`RENAMED`)."""

    t_end: Positive = Field(description="s")
    electrochemistry: Literal["stationary", "transient"] = "stationary"
    tolerance: Positive | None = Field(None, description="transient: local time error")
    dt_initial: Positive | None = Field(None, description="s, transient: first step")
    max_displacement_um: Positive = Field(
        0.02,
        validation_alias=_renamed("growth", "max_displacement_um"),
        description="um of boundary motion per step",
    )
    min_quality: Annotated[float, Field(gt=0, lt=1)] = 0.2
    snapshots: list[Annotated[float, Field(ge=0)]] = Field(default_factory=list)
    molar_mass: Positive = Field(6.94e-3, description="kg/mol (Li)")
    density: Positive = Field(534.0, description="kg/m^3 (Li)")
    charge: Annotated[int, Field(ge=1, le=MAX_CHARGE)] = 1
    merge_gap_um: Annotated[float, Field(ge=0)] | None = Field(
        None,
        validation_alias=_renamed("growth", "merge_gap_um"),
        description="um: deposits closer than this fuse; 0 or absent: no merging",
    )
    _old_names: tuple[str, ...] = PrivateAttr(())

    @model_validator(mode="wrap")
    @classmethod
    def _old_keys(cls, data: Any, handler: ModelWrapValidatorHandler[GrowthConfig]) -> Any:
        """Read the old names of renamed keys (remembered for the warning); not both."""
        renamed = RENAMED["growth"]
        old = tuple(k for k in renamed if isinstance(data, dict) and k in data)
        both = [k for k in old if renamed[k] in data]
        if both:
            raise ValueError(
                f"give {renamed[both[0]]} (um) only: {both[0]} is its old name, and both are given"
            )
        config = handler(data)
        if old:
            config._old_names = old
        return config

    def name_in_file(self, name: str) -> str:
        """The name the case file gave field ``name`` (an old name, if it used one)."""
        old = [o for o in self._old_names if RENAMED["growth"][o] == name]
        return old[0] if old else name


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
        """The configuration with every default filled in (plain data, new key names)."""
        return self.model_dump(mode="json", exclude_none=True)

    def digest_data(self) -> dict[str, Any]:
        """The effective configuration under the key names digests have always used:
        renamed keys (:data:`RENAMED`) under their old names, whichever name the case
        file gave, so a rename leaves every digest as it was."""
        data = self.effective()
        for section, names in RENAMED.items():
            table = data.get(section)
            for old, new in names.items():
                if isinstance(table, dict) and new in table:
                    table[old] = table.pop(new)
        return data

    def digest(self) -> str:
        """SHA-256 of the effective configuration (stable key order; renamed keys under
        their old names, see :meth:`digest_data`)."""
        text = json.dumps(self.digest_data(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def renamed_keys(self) -> list[str]:
        """One warning per old key name the case file used (:data:`RENAMED`)."""
        out = []
        for section, names in RENAMED.items():
            for old in getattr(getattr(self, section), "_old_names", ()):
                out.append(
                    f"{section}.{old} is now {section}.{names[old]}: the value is in "
                    f"micrometres (um); rename the key (the old name is still read for now)"
                )
        return out
