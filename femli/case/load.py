"""Reading and checking a case file: TOML -> a validated :class:`CaseConfig`.

:func:`load_case` reads a file, :func:`parse_case` validates a dictionary: the schema
(:mod:`femli.case.schema`) and the cross-field rules (:mod:`femli.case.rules`) in one
pass, every problem one line naming the key (:mod:`femli.case.messages`); the checks
against the geometry, mesh file and output folder are :mod:`femli.case.preflight`'s.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from femli.case.messages import ConfigError, describe_all, read_toml
from femli.case.rules import semantic_problems
from femli.case.schema import CaseConfig

__all__ = ["load_case", "parse_case", "read_case", "validate_case", "warn_renamed"]

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
