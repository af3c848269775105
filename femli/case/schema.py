"""Case files: TOML -> validated configuration -> physics objects.

This is the only module that reads user case files. Validation (pydantic) happens
before any mesh or solve; every problem is reported as one line naming the key, the
value and what is allowed, and :class:`ConfigError` carries all of them.

Units: SI throughout (m^2/s, mol/m^3, S/m, A/m^2, V, K), except the geometry builder
parameters (all in um) and keys whose name ends in ``_um`` (um); they cross to SI in
:mod:`femli.case.build` and :mod:`femli.mesh`. A physical quantity may also be given as
a string with its unit ("10 mA/cm2", "1 M"), converted to the key's unit on reading
(:mod:`femli.case.quantities`); the validated configuration holds numbers only. Every
key has a description and, if it has one, its unit (``femli schema`` writes the JSON
Schema). Keys renamed to say their unit keep their old names as aliases (:data:`RENAMED`).
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

from femli.case.quantities import (
    Concentration,
    Conductivity,
    CurrentDensity,
    Density,
    Diffusivity,
    Length,
    MolarMass,
    Potential,
    Temperature,
    Time,
    geometry_quantities,
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
Fraction = Annotated[float, Field(gt=0, lt=1)]

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
    """One dissolved species of the electrolyte."""

    name: str = Field(min_length=1, description="species name, e.g. Li+ (named by reacting)")
    charge: int = Field(description=f"charge number z (non-zero, |z| <= {MAX_CHARGE})")
    diffusivity: Annotated[Diffusivity, Field(gt=0)] = Field(description="diffusivity D")
    concentration: Annotated[Concentration, Field(gt=0)] = Field(
        description="bulk concentration (also the initial one of [time] runs)"
    )
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
    """Transport properties of one cell region (a porous layer, a solid electrolyte)."""

    region: str = Field(description="cell region name (femli builders lists each builder's)")
    diffusivity: dict[str, Annotated[Diffusivity, Field(gt=0)]] = Field(
        default_factory=dict, description="per species name: its diffusivity in this region"
    )
    conductivity: Annotated[Conductivity, Field(gt=0)] | None = Field(
        None, description="ionic conductivity in this region (secondary/supporting models)"
    )
    porosity: Annotated[float, Field(gt=0, le=1)] = Field(
        1.0, description="electrolyte volume fraction eps (effective D = D eps / tortuosity)"
    )
    tortuosity: Annotated[float, Field(ge=1)] = Field(1.0, description="tortuosity tau >= 1")


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

    set: Annotated[str, AfterValidator(parameter_set)] | None = Field(
        None, description="a shipped parameter set (femli/physics/electrolytes/*.toml)"
    )
    conductivity: PropertyValue | None = Field(
        None,
        description="ionic conductivity kappa (see transference)",
        json_schema_extra={"unit": "S/m"},
    )
    diffusivity: PropertyValue | None = Field(
        None,
        description="salt diffusivity D (see transference)",
        json_schema_extra={"unit": "m2/s"},
    )
    transference: PropertyValue | None = Field(
        None,
        description="cation transference number t+; each property a number, an expression "
        "in c (mol/m3) and T (K), or a table {c = [...], value = [...]}",
    )
    thermodynamic_factor: PropertyValue | None = Field(
        None, description="thermodynamic factor 1 + dln f/dln c"
    )


class ElectrolyteConfig(Strict):
    """The electrolyte: transport model, species, temperature, region properties."""

    model: Annotated[str, AfterValidator(_transport_model)] = Field(
        "tertiary",
        description="transport model: primary, secondary, tertiary, supporting, concentrated",
    )
    temperature: Annotated[Temperature, Field(gt=0)] = Field(
        298.15, description="the run temperature T (in RT/F and the Arrhenius factors)"
    )
    reference_temperature: Annotated[Temperature, Field(gt=0)] | None = Field(
        None,
        description="the temperature at which diffusivities, conductivities, exchange "
        "currents and film resistances are given; each scales to `temperature` with its "
        "activation energy (J/mol). Absent: the values are at `temperature`",
    )
    conductivity_activation_energy: ActivationEnergy | None = Field(
        None, description="J/mol, of conductivity and of the regions' conductivities"
    )
    reacting: str = Field("Li+", description="the species the electrodes deposit")
    conductivity: Annotated[Conductivity, Field(gt=0)] | None = Field(
        None, description="ionic conductivity kappa (primary/secondary/supporting models)"
    )
    transference: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.0, description="cation transference number t+ (supporting model)"
    )
    species: list[SpeciesConfig] = Field(
        default_factory=_default_species,
        min_length=1,
        description="the species ([[electrolyte.species]]); default: 1 M Li+ / TFSI-",
    )
    regions: list[RegionConfig] = Field(
        default_factory=list, description="per-region properties ([[electrolyte.regions]])"
    )
    properties: PropertiesConfig | None = Field(
        None, description='[electrolyte.properties] (model "concentrated")'
    )

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

    type: Literal["butler-volmer", "tafel", "linear", "inert"] = Field(
        "butler-volmer", description="kinetics law; inert: no reaction on this part"
    )
    exchange_current: Annotated[CurrentDensity, Field(gt=0)] | None = Field(
        None, description="exchange current density i0 (required unless inert)"
    )
    alpha_a: Positive = Field(0.5, description="anodic transfer coefficient (butler-volmer)")
    alpha_c: Positive = Field(0.5, description="cathodic transfer coefficient (butler-volmer)")
    alpha: Positive = Field(0.5, description="transfer coefficient (tafel)")
    direction: Literal["cathodic", "anodic"] = Field(
        "cathodic", description="the branch a tafel law keeps"
    )
    concentration_dependent: bool = Field(
        False, description="scale the cathodic branch by c / reference_concentration"
    )
    reference_concentration: Annotated[Concentration, Field(gt=0)] | None = Field(
        None, description="c_ref of concentration_dependent kinetics (default: bulk)"
    )
    activation_energy: ActivationEnergy | None = Field(
        None, description="J/mol, of exchange_current (from electrolyte.reference_temperature)"
    )
    name: str | None = Field(None, min_length=1, description="label in metrics.json")
    equilibrium_potential: Potential | None = Field(
        None, description="equilibrium potential of this reaction; default: the electrode's"
    )
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
    """One electrode ([[electrodes]]): its boundary parts and their kinetics, and its
    control (a potential or a current density)."""

    name: str = Field("electrode", description="electrode name (output file names)")
    kinetics: dict[str, KineticsConfig] = Field(
        min_length=1, description="per boundary name: the kinetics there"
    )
    potential: Potential | None = Field(
        None, description="potentiostatic: electrode potential vs the bulk reference"
    )
    current_density: CurrentDensity | None = Field(
        None, description="galvanostatic: mean current density, anodic positive (deposit < 0)"
    )
    current_basis: Literal["electrode", "footprint"] = Field(
        "electrode", description="current_density per electrode area or per footprint area"
    )
    equilibrium_potential: Potential = Field(
        0.0, description="equilibrium potential E_eq (overpotential = phi_s - phi - E_eq)"
    )
    double_layer_capacitance: Positive | None = Field(
        None, description="F/m^2: charging current in [time] runs and transient growth"
    )

    @model_validator(mode="after")
    def _one_control(self) -> ElectrodeConfig:
        if (self.potential is None) == (self.current_density is None):
            raise ValueError("give exactly one of potential (V) or current_density (A/m^2)")
        return self


class BulkConfig(Strict):
    """A reservoir boundary ([[bulk]]): ``potential`` (V) and ``concentrations`` (mol/m3),
    each a number, a string with its unit ("-20 mV", "1 M") or an expression in x, y, z (m),
    e.g. "1000 + 1e7*x"."""

    boundaries: list[str] = Field(
        default_factory=lambda: ["bulk"], min_length=1, description="boundary names"
    )
    potential: Annotated[Any, AfterValidator(position_value(False, Potential))] = Field(
        0.0,
        description="electrolyte potential there (the reference), or an expression in x, y, z (m)",
        json_schema_extra={"unit": "V"},
    )
    concentrations: dict[
        str, Annotated[Any, AfterValidator(position_value(True, Concentration))]
    ] = Field(
        default_factory=dict,
        description="per species name (default: the bulk concentration), or expressions in "
        "x, y, z (m)",
        json_schema_extra={"unit": "mol/m3"},
    )


class GeometryConfig(BaseModel):
    """``preset`` and/or ``kind`` plus builder parameters, or a ``mesh`` file."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    preset: str | None = Field(None, description="a preset (femli presets), its values as defaults")
    kind: str | None = Field(
        None, description="a builder (femli builders); its parameters (um) are keys here too"
    )
    mesh: str | None = Field(
        None, description="a Gmsh .msh file instead (coordinates in um, named physical groups)"
    )
    axisymmetric: bool | None = Field(
        None,
        description="true: a 2D geometry is the r-z half plane of a body of revolution "
        "(x = r >= 0, y = z)",
    )
    split_levels: Annotated[int, Field(ge=0, le=3)] | None = Field(
        None,
        description="n > 0: Gmsh meshes at 2^n times the element sizes on rank 0 and every "
        "cell is split n times on all ranks, boundary nodes put back on the exact surfaces: "
        "the same element sizes in a fraction of the meshing time (large 3D meshes)",
    )

    @model_validator(mode="before")
    @classmethod
    def _quantities(cls, data: Any) -> Any:
        """Builder parameters given with units ("500 nm") in the builder's unit (um)."""
        return geometry_quantities(data)

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
    """Linear solver and the stationary start."""

    preset: Literal["auto", "direct", "iterative"] = Field(
        "auto", description="linear solver: direct (MUMPS), iterative, auto (by size)"
    )
    initial_guess: Literal["secondary", "uniform"] = Field(
        "secondary", description="stationary start: a secondary solve, or the uniform bulk"
    )
    max_continuation_steps: Annotated[int, Field(ge=1, le=10_000)] = Field(
        64, description="most steps of the continuation in the driving force"
    )


class TimeConfig(Strict):
    """A time-dependent run from the uniform bulk state (times in s)."""

    t_end: Annotated[Time, Field(gt=0)] = Field(description="end time")
    dt_initial: Annotated[Time, Field(gt=0)] | None = Field(None, description="first step")
    dt_min: Annotated[Time, Field(gt=0)] | None = Field(None, description="smallest step")
    dt_max: Annotated[Time, Field(gt=0)] | None = Field(None, description="largest step")
    scheme: Literal["bdf1", "bdf2"] = Field("bdf2", description="time integration scheme")
    tolerance: Positive = Field(1.0e-4, description="local time error per step (relative)")
    stop_when_depleted: Fraction | None = Field(
        None, description="stop when c at an electrode falls below this fraction of bulk"
    )


class GrowthConfig(Strict):
    """Deposition growth on a moving electrode. ``electrochemistry``: ``stationary``
    (steady state on each shape) or ``transient`` (concentrations carried between steps,
    BDF step with error control: ``tolerance``, ``dt_initial``). ``max_displacement_um``:
    the largest boundary motion per step (um). ``merge_gap_um``: deposits
    closer than this (um) fuse and the electrolyte they enclose is trapped (3D: in a
    box-shaped cell, through a level-set rebuild of the mesh). The old names
    ``max_displacement`` and ``merge_gap`` are still read (:data:`RENAMED`)."""

    t_end: Annotated[Time, Field(gt=0)] = Field(description="end time")
    electrochemistry: Literal["stationary", "transient"] = Field(
        "stationary", description="steady state on each shape, or concentrations in time"
    )
    tolerance: Positive | None = Field(None, description="transient: local time error")
    dt_initial: Annotated[Time, Field(gt=0)] | None = Field(
        None, description="transient: first step"
    )
    max_displacement_um: Annotated[Length, Field(gt=0)] = Field(
        0.02,
        validation_alias=_renamed("growth", "max_displacement_um"),
        description="largest boundary motion per step",
    )
    min_quality: Fraction = Field(
        0.2,
        description="remesh below this cell quality (after a remesh that gave less than "
        "half of it: below half of what it gave)",
    )
    snapshots: list[Annotated[Time, Field(ge=0)]] = Field(
        default_factory=list, description="times of morphology pictures and moving fields"
    )
    molar_mass: Annotated[MolarMass, Field(gt=0)] = Field(
        6.94e-3, description="molar mass of the deposit (Li)"
    )
    density: Annotated[Density, Field(gt=0)] = Field(
        534.0, description="mass density of the deposit (Li)"
    )
    charge: Annotated[int, Field(ge=1, le=MAX_CHARGE)] = Field(
        1, description="charge number of the deposited ion"
    )
    merge_gap_um: Annotated[Length, Field(ge=0)] | None = Field(
        None,
        validation_alias=_renamed("growth", "merge_gap_um"),
        description="deposits closer than this fuse (2D; 3D in a box-shaped cell); 0 or absent: "
        "no merging",
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

    renders: bool = Field(True, description="write pictures (PNG)")
    fields: bool = Field(True, description="write fields for ParaView (fields/)")
    checkpoint_interval: Annotated[int, Field(ge=1)] | None = Field(
        None, description="checkpoint every this many accepted steps"
    )
    checkpoint_period: Annotated[Time, Field(gt=0)] | None = Field(
        None, description="checkpoint every this much simulated time"
    )


class CaseConfig(Strict):
    """A femli case file (TOML): geometry, electrolyte, electrodes, bulk boundaries,
    solver, and optionally [time] or [growth], and what to write."""

    name: FolderName = Field("case", description="case name; default results folder results/<name>")
    description: str = Field("", description="free text")
    geometry: GeometryConfig = Field(description="[geometry]")
    electrolyte: ElectrolyteConfig = Field(
        default_factory=ElectrolyteConfig, description="[electrolyte]"
    )
    electrodes: list[ElectrodeConfig] = Field(min_length=1, description="[[electrodes]]")
    bulk: list[BulkConfig] = Field(
        default_factory=lambda: [BulkConfig()],
        description="[[bulk]]; default: one, on the boundary named bulk",
    )
    solver: SolverConfig = Field(default_factory=SolverConfig, description="[solver]")
    time: TimeConfig | None = Field(None, description="[time]: a time-dependent run")
    growth: GrowthConfig | None = Field(None, description="[growth]: a deposition growth run")
    output: OutputConfig = Field(default_factory=OutputConfig, description="[output]")
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
