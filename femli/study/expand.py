"""Expansion of a study into validated cases with stable, human-readable ids.

Every expanded case is validated with :func:`femli.case.schema.parse_case` (and its geometry
parameters with the builder's own checks) before anything runs; all problems of all
cases are reported at once, identical messages collapsed into one line.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from femli.case.checks import parse_case
from femli.case.schema import CaseConfig
from femli.messages import FOLDER_NAME_RULE, ConfigError, folder_name, read_toml
from femli.study.spec import AxisSpec, PlotSpec, StudyError, parse_plot, parse_study, read_study
from femli.study.summary import RESERVED_COLUMNS, metric_names, resolve_metric, suggest

__all__ = [
    "Axis",
    "Study",
    "StudyCase",
    "case_id",
    "expand_study",
    "set_path",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]")
_MAX_ID = 120


@dataclass(frozen=True, slots=True)
class Axis:
    """An expanded axis: the value(s) set at each point and how a point is named."""

    name: str
    keys: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]  # one value per key, per point
    labels: tuple[str, ...]  # text used in case ids
    columns: tuple[Any, ...]  # value shown in cases.csv / summary tables


@dataclass(frozen=True, slots=True)
class StudyCase:
    """One case of a study: its position, id, swept parameters and validated config."""

    index: int
    case_id: str
    params: dict[str, Any]
    config: CaseConfig
    digest: str


@dataclass(frozen=True, slots=True)
class Study:
    """A validated, expanded study (what :func:`femli.study.run_study` runs)."""

    name: str
    description: str
    mode: str
    axes: tuple[Axis, ...]
    cases: tuple[StudyCase, ...]
    plots: tuple[PlotSpec, ...]
    base_dir: Path  # relative mesh paths in the cases are resolved from here
    source: str

    def rows(self) -> list[dict[str, Any]]:
        """One row per case for ``cases.csv``: index, case_id, parameters, config_sha256."""
        return [
            {"index": c.index, "case_id": c.case_id, **c.params, "config_sha256": c.digest}
            for c in self.cases
        ]


def expand_study(
    study: str | Path | dict[str, Any],
    *,
    base_dir: str | Path | None = None,
    plots: Iterable[str | PlotSpec] = (),
) -> Study:
    """Validate and expand a study (a TOML path or a dictionary) into cases.

    ``base_dir`` is where a dictionary study's relative paths are resolved (default: the
    current folder); a file study uses its own folder. ``plots`` adds ``"metric:param"``
    plots to those of the study. Raises :class:`StudyError` listing every problem.
    """
    if isinstance(study, dict):
        raw, source, folder, stem = study, "study", Path(base_dir or "."), "study"
    else:
        path = Path(study)
        raw, source, folder, stem = read_study(path), str(path), path.parent, path.stem
    spec = parse_study(raw, source)
    base, case_dir = _base_case(spec.base, folder, source)
    axes = _axes(spec.axes, source)
    combos = _combinations(axes, spec.mode, source)
    cases, problems = _cases(base, axes, combos)
    plot_specs, bad_plots = _extra_plots(spec.plot, plots)
    problems += bad_plots + _plot_problems(plot_specs, axes, cases)
    if spec.name is None and not _is_folder_name(stem):
        problems.append(f"name: not given, and the file name {stem!r} {FOLDER_NAME_RULE}; set name")
    if problems:
        raise StudyError(problems, source)
    return Study(
        spec.name or stem, spec.description, spec.mode, axes, tuple(cases), plot_specs,
        case_dir, source,
    )  # fmt: skip


def _base_case(base: str | dict, folder: Path, source: str) -> tuple[dict, Path]:
    """The base case dictionary and the folder its relative paths refer to."""
    if isinstance(base, dict):
        return base, folder
    path = folder / base
    try:
        return read_toml(path, StudyError, "case file"), path.parent
    except StudyError as err:
        raise StudyError([f"base = {base!r}: {p}" for p in err.problems], source) from None


def _axes(specs: list[AxisSpec], source: str) -> tuple[Axis, ...]:
    """Expanded axes with unique names (default: the key's last named segment)."""
    defaults = [s.name or _last_name(s.keys[0]) for s in specs]
    names = [
        s.name or (d if defaults.count(d) == 1 else s.keys[0])
        for s, d in zip(specs, defaults, strict=True)
    ]
    problems = [
        f"axes[{k}].name = {n!r}: used by another axis; give each axis a distinct name"
        for k, n in enumerate(names)
        if names.count(n) > 1
    ]
    problems += [
        f"axes[{k}].name = {n!r}: reserved for a summary column; choose another name"
        for k, n in enumerate(names)
        if n in RESERVED_COLUMNS
    ]
    if problems:
        raise StudyError(problems, source)
    return tuple(_axis(s, n) for s, n in zip(specs, names, strict=True))


def _last_name(key: str) -> str:
    named = [p for p in key.split(".") if not p.lstrip("-").isdigit()]
    return named[-1] if named else key


def _axis(spec: AxisSpec, name: str) -> Axis:
    values = _points(spec)
    keys = tuple(spec.keys)
    points = tuple(tuple(v) if len(keys) > 1 else (v,) for v in values)
    if spec.labels is not None:
        return Axis(name, keys, points, tuple(_safe(x) for x in spec.labels), tuple(spec.labels))
    if all(_is_scalar(v) for v in values):
        return Axis(name, keys, points, tuple(_text(v) for v in values), tuple(values))
    labels = tuple(f"v{k}" for k in range(len(values)))
    columns = tuple(json.dumps(v, sort_keys=True, separators=(",", ":")) for v in values)
    return Axis(name, keys, points, labels, columns)


def _points(spec: AxisSpec) -> list[Any]:
    """The axis values: as given, linspace (``range``) or geomspace (``logspace``)."""
    if spec.values is not None:
        return list(spec.values)
    s = spec.range or spec.logspace
    assert s is not None  # exactly one of values, range, logspace (AxisSpec checks)
    raw = (np.linspace if spec.range else np.geomspace)(s.start, s.stop, s.num)
    values = [float(f"{x:.12g}") for x in raw]  # drop round-off noise (0.30000000000000004)
    integral = all(float(x).is_integer() for x in (s.start, s.stop, *values))
    return [int(v) for v in values] if spec.range and integral else values


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | str)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return _safe(str(value))


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text) or "_"


def _combinations(axes: tuple[Axis, ...], mode: str, source: str) -> list[tuple[int, ...]]:
    """Point indices of every case: Cartesian product (last axis fastest) or zip."""
    sizes = [len(a.points) for a in axes]
    if mode == "cartesian":
        return list(itertools.product(*(range(n) for n in sizes)))
    if len(set(sizes)) != 1:
        lengths = ", ".join(f"{a.name}: {n}" for a, n in zip(axes, sizes, strict=True))
        raise StudyError([f"mode = 'zip' needs axes of equal length, got {lengths}"], source)
    return [(k,) * len(axes) for k in range(sizes[0])]


def case_id(index: int, total: int, labels: Iterable[tuple[str, str]]) -> str:
    """``case_0003_current_density=-100_height=0.5`` (index zero-padded, length capped)."""
    width = max(4, len(str(max(total - 1, 0))))
    text = "_".join(f"{_safe(name)}={label}" for name, label in labels)
    head = f"case_{index:0{width}d}"
    return f"{head}_{text}"[:_MAX_ID].rstrip("_") if text else head


def _cases(
    base: dict, axes: tuple[Axis, ...], combos: list[tuple[int, ...]]
) -> tuple[list[StudyCase], list[str]]:
    """Build and validate every case; returns the cases and the collapsed problems."""
    cases: list[StudyCase] = []
    failures: dict[str, list[str]] = {}
    for index, combo in enumerate(combos):
        data = copy.deepcopy(base)
        labels = [(a.name, a.labels[k]) for a, k in zip(axes, combo, strict=True)]
        cid = case_id(index, len(combos), labels)
        try:
            for axis, k in zip(axes, combo, strict=True):
                for key, value in zip(axis.keys, axis.points[k], strict=True):
                    set_path(data, key, copy.deepcopy(value))
            config = parse_case(data, cid)
            problems = _geometry_problems(config)
        except KeyError as err:
            problems = [str(err.args[0])]
        except ConfigError as err:
            problems = err.problems
        for message in problems:
            failures.setdefault(message, []).append(cid)
        if not problems:
            params = {a.name: a.columns[k] for a, k in zip(axes, combo, strict=True)}
            cases.append(StudyCase(index, cid, params, config, config.digest()))
    return cases, [_collapse(m, ids, len(combos)) for m, ids in failures.items()]


def _collapse(message: str, ids: list[str], total: int) -> str:
    if len(ids) == total:
        return message if total == 1 else f"{message} (all {total} cases)"
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    return f"{shown}: {message}"


def set_path(data: dict, key: str, value: Any) -> None:
    """Set ``value`` at dotted ``key`` (integers index lists; missing tables are created).

    Raises KeyError with a one-line message when the path cannot exist in ``data``.
    """
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "(top level)"
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.lstrip("-").isdigit():
                raise KeyError(f"key {key!r}: {here} is a list; index it with an integer")
            i = int(part)
            if not -len(node) <= i < len(node):
                raise KeyError(f"key {key!r}: {here} has {len(node)} entries, no index {i}")
            if last:
                node[i] = value
            node = node[i]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            elif part not in node and parts[depth + 1].lstrip("-").isdigit():
                raise KeyError(f"key {key!r}: the base case has no list {part!r} to index")
            node = node.setdefault(part, {})
        else:
            raise KeyError(f"key {key!r}: {here} = {node!r} is a value, not a table or list")


def _geometry_problems(config: CaseConfig) -> list[str]:
    """The builder's own parameter checks (no meshing); mesh files are checked at run time."""
    if config.geometry.mesh is not None:
        return []
    from femli.case.build import geometry_params
    from femli.geometry import GeometryError, make_params

    try:
        kind, params = geometry_params(config.geometry)
        make_params(kind, **params)
    except (GeometryError, TypeError, ValueError) as err:
        return [f"geometry: {err}"]
    return []


def _extra_plots(
    plots: list[PlotSpec], extra: Iterable[str | PlotSpec]
) -> tuple[tuple[PlotSpec, ...], list[str]]:
    """The study's plots plus ``"metric:param"`` ones; problems of malformed ones."""
    specs, problems = list(plots), []
    for p in extra:
        try:
            specs.append(p if isinstance(p, PlotSpec) else parse_plot(p))
        except StudyError as err:
            problems += err.problems
    return tuple(specs), problems


def _plot_problems(
    plots: Iterable[PlotSpec], axes: tuple[Axis, ...], cases: list[StudyCase]
) -> list[str]:
    """Plots must name a swept parameter and a summary metric."""
    params = [a.name for a in axes]
    electrodes = sorted({e.name for c in cases for e in c.config.electrodes})
    problems = []
    for p in plots:
        if p.param not in params:
            problems.append(f"plot {p.metric}:{p.param}: {_unknown(p.param, params, 'parameter')}")
        if cases and not resolve_metric(p.metric, electrodes):
            names = metric_names([])
            problems.append(f"plot {p.metric}:{p.param}: {_unknown(p.metric, names, 'metric')}")
    return problems


def _unknown(name: str, allowed: list[str], what: str) -> str:
    extra = " (short electrode metrics also as '<electrode>.<metric>')" if what == "metric" else ""
    return f"unknown {what} {name!r}.{suggest(name, allowed)} Allowed: {', '.join(allowed)}{extra}"


def _is_folder_name(text: str) -> bool:
    try:
        folder_name(text)
    except ValueError:
        return False
    return True
