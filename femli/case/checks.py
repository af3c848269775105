"""Reading and checking a case file: TOML -> a validated :class:`CaseConfig`.

:func:`load_case` reads a file, :func:`parse_case` validates a dictionary: the schema
(:mod:`femli.case.schema`) and the cross-field rules here (:func:`semantic_problems`,
what the schema cannot express) in one pass, every problem one line that starts with
the key(s) it is about (:mod:`femli.messages`). Checks that read a top-level
section with schema problems are skipped (``bad``, see :func:`validate_case`), so one
pass reports every problem of a file; linear in the number of names (a case may name
100 000 boundaries). The checks against the geometry, mesh file and output folder are
:mod:`femli.case.preflight`'s.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from femli.case.build import electrode, electrolyte, transient_options
from femli.case.interface_checks import interface_problems, reactions, temperature_problems
from femli.case.schema import CaseConfig, GrowthConfig
from femli.messages import ConfigError, describe_all, read_toml, shorten
from femli.physics.transport import names, transport_class

__all__ = [
    "growth_dimension_problems",
    "load_case",
    "parse_case",
    "read_case",
    "semantic_problems",
    "used_regions",
    "validate_case",
    "warn_renamed",
]


def semantic_problems(
    config: CaseConfig, bad: frozenset[str] = frozenset(), data: dict | None = None
) -> list[str]:
    """Cross-field checks the schema cannot express (built objects validate physics);
    checks that read a section named in ``bad`` (invalid, see :func:`validate_case`) are
    skipped, except for the region names, read from the raw ``data`` then."""

    def ok(*sections: str) -> bool:
        return bad.isdisjoint(sections)

    problems = []
    made = None
    if ok("electrolyte"):
        try:
            made = electrolyte(config)
        except ValueError as err:
            problems.append(f"electrolyte: {err}")
        problems += temperature_problems(config)
    if ok("electrodes"):
        problems += _electrode_problems(config)
    if config.time is not None and ok("time", "solver"):
        try:
            transient_options(config)
        except ValueError as err:
            problems.append(f"time: {err}")
    if config.time is not None and config.growth is not None:
        problems.append(
            "[time] and [growth]: give one of them, not both (a growth run advances the "
            'concentrations in time with [growth] electrochemistry = "transient")'
        )
    problems += _named_twice(used_regions(config, bad, data))
    problems += interface_problems(config, ok, made)
    return problems + _condition_problems(config, ok) + _run_kind_problems(config, ok)


def _electrode_problems(config: CaseConfig) -> list[str]:
    """Each electrode's physics, and unique names."""
    problems = []
    for k, e in enumerate(config.electrodes):
        try:
            electrode(e)
        except ValueError as err:
            problems.append(f"electrodes[{k}]: {err}")
    twice = [n for n, count in Counter(e.name for e in config.electrodes).items() if count > 1]
    if twice:
        problems.append(
            f"electrodes[*].name: {shorten(twice)} used by more than one electrode; "
            "names must be unique"
        )
    return problems


def _condition_problems(config: CaseConfig, ok) -> list[str]:
    """Species names that match no species, no potential reference (``ok(*sections)``:
    whether those sections are valid)."""
    problems = []
    species = {s.name for s in config.electrolyte.species}
    known = shorten(sorted(species))
    if ok("bulk", "electrolyte"):
        for k, bulk in enumerate(config.bulk):
            unknown = [name for name in bulk.concentrations if name not in species]
            if unknown:
                problems.append(
                    f"bulk[{k}].concentrations: no species named {shorten(unknown)}"
                    f" (species: {known})"
                )
    if ok("electrolyte"):
        for k, region in enumerate(config.electrolyte.regions):
            unknown = [name for name in region.diffusivity if name not in species]
            if unknown:
                problems.append(
                    f"electrolyte.regions[{k}].diffusivity: no species named {shorten(unknown)}"
                    f" (species: {known})"
                )
    floating = all(e.potential is None for e in config.electrodes)
    if ok("electrodes", "bulk") and not config.bulk and floating:
        problems.append(
            "bulk = []: the electrolyte potential has no reference: give a [[bulk]] "
            "boundary or a potentiostatic electrode (potential in V)"
        )
    return problems


def _named_twice(used: list[tuple[str, str, str]]) -> list[str]:
    """Boundaries that more than one condition names (linear in the number of names)."""
    places: dict[str, list[str]] = {}
    for where, kind, name in used:
        if kind == "boundary":
            places.setdefault(name, []).append(where)
    twice = {name: where for name, where in places.items() if len(where) > 1}
    if not twice:
        return []
    wheres = list(dict.fromkeys(w for ws in twice.values() for w in ws))
    return [
        f"{', '.join(wheres[:4])}{', ...' if len(wheres) > 4 else ''}: boundaries named by more "
        f"than one condition: {shorten(sorted(twice))}; a boundary takes one condition"
    ]


def used_regions(
    config: CaseConfig, bad: frozenset[str] = frozenset(), data: dict | None = None
) -> list[tuple[str, str, str]]:
    """(where, kind, name) of every region name the case uses; kind "boundary" or "cell".

    A section named in ``bad`` (schema problems) is read from the raw ``data`` instead,
    keeping every name that is a string, so its names are checked too."""
    view = {
        "electrodes": [{"kinetics": e.kinetics} for e in config.electrodes],
        "bulk": [{"boundaries": b.boundaries} for b in config.bulk],
        "electrolyte": {"regions": [{"region": r.region} for r in config.electrolyte.regions]},
    }
    if data is not None:
        for section in bad.intersection(view):
            view[section] = data.get(section, view[section] if section != "electrodes" else [])
    return [
        *_names(view["electrodes"], "electrodes[{}].kinetics", "kinetics", "boundary"),
        *_names(view["bulk"], "bulk[{}].boundaries", "boundaries", "boundary"),
        *_names(_get(view["electrolyte"], "regions"), "electrolyte.regions[{}].region", "region",
                "cell"),
    ]  # fmt: skip


def _get(table, key: str):
    return table.get(key) if isinstance(table, dict) else None


def _names(items, where: str, key: str, kind: str) -> list[tuple[str, str, str]]:
    """The string names under ``key`` of each table in ``items`` (keys of a table, items
    of a list, or the one string of a ``region``), skipping anything of another type."""
    out = []
    for k, item in enumerate(items if isinstance(items, list) else ()):
        names = _get(item, key)
        names = [names] if isinstance(names, str) and key == "region" else names
        if isinstance(names, dict | list):
            out += [(where.format(k), kind, n) for n in names if isinstance(n, str)]
    return out


def _run_kind_problems(config: CaseConfig, ok) -> list[str]:
    """What [growth] needs, and checkpoints only where there are steps."""
    problems = []
    growth, model = config.growth, config.electrolyte.model
    if growth is not None and ok("growth", "electrolyte"):
        if not transport_class(model).has_kinetics:
            problems.append(
                f'electrolyte.model = "{model}": [growth] needs electrode kinetics: use '
                '"secondary" or above'
            )
        problems += _growth_chemistry_problems(growth, model)
    if growth is not None and ok("growth", "electrodes"):
        depositing = [
            block.type != "inert" and (main if block.deposits is None else block.deposits)
            for e in config.electrodes
            for _, block, main in reactions(e)
        ]
        if not any(depositing):
            problems.append(
                'electrodes[*].kinetics: every type is "inert" or deposits = false, so '
                "[growth] has no depositing boundary"
            )
    if growth is not None and config.geometry.axisymmetric and ok("growth", "geometry"):
        problems.append(
            "geometry.axisymmetric = true: [growth] is not implemented in r-z (the moving "
            "mesh and remeshing are planar); run growth on a planar 2D or a 3D geometry"
        )
    if growth is not None and config.geometry.kind == "interval" and ok("growth", "geometry"):
        problems.append(
            'geometry.kind = "interval": [growth] needs a 2D or 3D geometry (a 1D cell has '
            "no surface to grow); use [time] for a 1D transient"
        )
    out = config.output
    wants = out.checkpoint_interval is not None or out.checkpoint_period is not None
    if wants and config.time is None and config.growth is None and ok("output", "time", "growth"):
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
    if not transport_class(model).has_concentrations:
        allowed = " or ".join(f'"{n}"' for n in names() if transport_class(n).has_concentrations)
        return [
            'growth.electrochemistry = "transient" needs a concentration model: electrolyte.'
            f'model {allowed} (got "{model}", which has no concentration)'
        ]
    return []


def growth_dimension_problems(config: CaseConfig, dim: int | None) -> list[str]:
    """[growth] keys that need a 2D or 3D geometry (``dim``: the geometry's dimension,
    None if not known before meshing)."""
    growth = config.growth
    gap = growth.merge_gap_um if growth is not None else None
    if growth is None or not gap or dim in (None, 2, 3):
        return []
    key = growth.name_in_file("merge_gap_um")
    return [
        f"growth.{key} = {gap:g}: merging deposits is implemented for 2D and 3D geometries, "
        f"and this geometry is {dim}D; allowed: {key} = 0 or no {key}"
    ]


log = logging.getLogger(__name__)
#: Renamed-key warnings already logged by this process (each is logged once per run).
_WARNED: set[str] = set()


def parse_case(data: dict[str, Any], source: str = "config") -> CaseConfig:
    """Validate a case dictionary; raises :class:`ConfigError` listing every problem
    (schema and cross-field checks together, see :func:`validate_case`)."""
    config, _, problems = validate_case(data)
    if config is not None:
        warn_renamed(config, source)
    if problems or config is None:
        raise ConfigError(problems, source)
    config._source = source
    return config


def warn_renamed(config: CaseConfig, source: str) -> None:
    """Log a warning for each old key name the case from ``source`` uses
    (:meth:`CaseConfig.renamed_keys`), once per process: once per run, once per study."""
    for message in config.renamed_keys():
        if message not in _WARNED:
            _WARNED.add(message)
            log.warning("%s: %s", source, message)


def load_case(path: str | Path) -> CaseConfig:
    """Read and validate a TOML case file."""
    return parse_case(read_case(path), str(path))


def read_case(path: str | Path) -> dict[str, Any]:
    """The table of a TOML case file; :class:`ConfigError` if it cannot be read (missing,
    a folder, not UTF-8, not TOML)."""
    return read_toml(path, ConfigError, "case file")


#: Stand-ins for required sections that are invalid, so the other checks can run.
_STAND_INS: dict[str, Any] = {
    "geometry": {"mesh": "(invalid)"},
    "electrodes": [{"potential": 0.0, "kinetics": {"(invalid)": {"type": "inert"}}}],
}


def validate_case(data: Any) -> tuple[CaseConfig | None, frozenset[str], list[str]]:
    """Every schema and cross-field problem of a case dictionary, in one pass.

    Returns ``(config, bad, problems)``: ``bad`` names the top-level sections with
    schema problems; in ``config`` those are replaced by their defaults (or stand-ins),
    so checks of the other sections still run (skipping what needs a bad section).
    ``config`` is None when not even that can be built (e.g. the top level is no table).
    """
    try:
        config = CaseConfig.model_validate(data)
        return config, frozenset(), semantic_problems(config)
    except ValidationError as err:
        errors = err.errors()
    except RecursionError:
        return None, frozenset(), ["(top level): values nested too deeply"]
    problems = describe_all(errors, data, CaseConfig)
    bad = frozenset(str(e["loc"][0]) for e in errors if e["loc"])
    if not isinstance(data, dict) or not all(e["loc"] for e in errors):
        return None, bad, problems
    kept = {k: v for k, v in data.items() if k not in bad}
    kept |= {k: v for k, v in _STAND_INS.items() if k in bad}
    try:
        config = CaseConfig.model_validate(kept)
    except (ValidationError, RecursionError):
        return None, bad, problems
    return config, bad, problems + semantic_problems(config, bad, data)
