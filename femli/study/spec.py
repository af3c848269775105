"""Study files: the TOML schema of a parameter study and its one-line error messages.

A study is a base case (``base = "case.toml"`` relative to the study file, or an inline
``[base]`` table holding a whole case) plus parameter axes::

    name = "cd_x_height"              # optional; default: the study file's stem
    base = "case.toml"
    mode = "cartesian"                # or "zip" (axes of equal length advance together)

    [[axes]]
    key = "electrodes.0.current_density"      # dotted path; integers index lists
    values = [-50.0, -100.0]                   # A/m^2

    [[axes]]
    key = "geometry.asperity_height"           # um
    range = { start = 0.5, stop = 1.5, num = 3 }   # linspace, both ends included

    [[plot]]
    metric = "hotspot_index"
    param = "current_density"

``logspace = {start, stop, num}`` spaces ``num`` values geometrically from ``start`` to
``stop`` (the values themselves, not exponents). An axis may set several keys at once:
``key = ["a.b", "c.d"]`` with ``values = [[a1, c1], [a2, c2]]`` and ``labels = [...]``
naming each point (e.g. "bare", "bilayer").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from femli.messages import FolderName, ProblemsError, describe_all, read_toml

__all__ = [
    "AxisSpec",
    "PlotSpec",
    "Spacing",
    "StudyError",
    "StudySpec",
    "parse_plot",
    "parse_study",
    "read_study",
]


class StudyError(ProblemsError):
    """An invalid study; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "study") -> None:
        super().__init__(problems, source)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Spacing(_Strict):
    """``num`` points from ``start`` to ``stop`` (both included)."""

    start: float
    stop: float
    num: int = Field(ge=1, le=100_000)


class AxisSpec(_Strict):
    """One parameter axis: key(s) into the case and the points to visit."""

    key: str | list[str]
    name: str | None = Field(None, min_length=1)
    values: list[Any] | None = Field(None, min_length=1)
    range: Spacing | None = None
    logspace: Spacing | None = None
    labels: list[str] | None = None

    @property
    def keys(self) -> list[str]:
        """The dotted keys this axis sets (one or more)."""
        return [self.key] if isinstance(self.key, str) else list(self.key)

    @model_validator(mode="after")
    def _consistent(self) -> AxisSpec:
        given = [n for n in ("values", "range", "logspace") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of values, range or logspace (got {given})")
        for key in self.keys:
            if not key or any(part == "" for part in key.split(".")):
                raise ValueError(f"key {key!r} is not a dotted path like 'electrodes.0.name'")
        if not self.keys:
            raise ValueError("key must name at least one dotted path")
        if len(self.keys) > 1:
            self._check_multi()
        points = len(self._points())
        if self.labels is not None and len(self.labels) != points:
            raise ValueError(f"labels has {len(self.labels)} entries but the axis has {points}")
        if self.logspace is not None:
            s = self.logspace
            if s.start == 0 or s.stop == 0 or (s.start > 0) != (s.stop > 0):
                raise ValueError("logspace start and stop must be non-zero with the same sign")
        return self

    def _points(self) -> list[Any]:
        if self.values is not None:
            return self.values
        spacing = self.range or self.logspace
        assert spacing is not None  # exactly one of values, range, logspace (_consistent)
        return [None] * spacing.num

    def _check_multi(self) -> None:
        n = len(self.keys)
        if self.name is None:
            raise ValueError(f"an axis with {n} keys needs a name (its column in the summary)")
        if self.values is None:
            raise ValueError(f"an axis with {n} keys needs values = [[one per key], ...]")
        bad = [v for v in self.values if not isinstance(v, list) or len(v) != n]
        if bad:
            raise ValueError(
                f"each value must be a list of {n} entries (one per key), got {bad[0]!r}"
            )


class PlotSpec(_Strict):
    """A plot of a summary metric against a swept parameter."""

    metric: str = Field(min_length=1)
    param: str = Field(min_length=1)


class StudySpec(_Strict):
    """The whole study file."""

    name: FolderName | None = None  # the default study folder: results/<name>
    description: str = ""
    base: Any
    mode: Literal["cartesian", "zip"] = "cartesian"
    axes: list[AxisSpec] = Field(min_length=1)
    plot: list[PlotSpec] = Field(default_factory=list)

    @field_validator("base")
    @classmethod
    def _base(cls, base: Any) -> Any:
        if not isinstance(base, str | dict):
            raise ValueError("give a case file path (string) or a [base] table")
        return base


def parse_plot(text: str) -> PlotSpec:
    """``"metric:param"`` (the ``--plot`` option) -> :class:`PlotSpec`."""
    metric, sep, param = text.partition(":")
    if not sep or not metric or not param:
        raise StudyError([f"--plot {text!r}: expected METRIC:PARAM, e.g. hotspot_index:current"])
    return PlotSpec(metric=metric.strip(), param=param.strip())


def parse_study(data: dict[str, Any], source: str = "study") -> StudySpec:
    """Validate a study dictionary; raises :class:`StudyError` listing every problem."""
    try:
        return StudySpec.model_validate(data)
    except ValidationError as err:
        problems = describe_all(err.errors(), data, StudySpec)
        raise StudyError(list(dict.fromkeys(problems)), source) from None


def read_study(path: str | Path) -> dict[str, Any]:
    """The raw dictionary of a TOML study file (clear errors for missing/invalid files)."""
    return read_toml(path, StudyError, "study file")
