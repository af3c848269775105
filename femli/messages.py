"""One-line messages for invalid input, shared by case and study files.

Each message names the key (dotted, with list indices), the offending value (shortened:
never a whole array or a megabyte of text) and what is allowed; unknown keys get a
did-you-mean and the keys allowed there. Many problems of one form (the same mistake
in 10 000 list items) become one line with a count, and :class:`ProblemsError` keeps
any list of problems short (:func:`bounded`). :func:`read_toml` reads a TOML file with
one clear problem for every way it can be unreadable.
"""

from __future__ import annotations

import codecs
import difflib
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, BaseModel
from pydantic_core import ErrorDetails

__all__ = [
    "FOLDER_NAME_RULE",
    "MAX_LINE",
    "MAX_PROBLEMS",
    "SIMILAR",
    "ConfigError",
    "FolderName",
    "ProblemsError",
    "allowed_keys",
    "bounded",
    "describe",
    "describe_all",
    "folder_name",
    "inner_model",
    "location",
    "lookup",
    "read_toml",
    "shorten",
]

#: More problems of the same form than this become one line with a count.
SIMILAR = 3
#: At most this many problems are listed; the rest are counted.
MAX_PROBLEMS = 20
#: Longest problem line (characters); a longer one loses its middle.
MAX_LINE = 400


class ProblemsError(ValueError):
    """Invalid input; ``problems`` holds one message per problem (bounded: similar ones
    collapsed, at most :data:`MAX_PROBLEMS`), ``source`` names the file (or command)
    they were found in. Pickled with both (sent between MPI ranks)."""

    def __init__(self, problems: list[str], source: str) -> None:
        self.problems, self.source = bounded(problems), source
        super().__init__(f"{source}: " + "; ".join(self.problems))

    def __reduce__(self):
        return type(self), (self.problems, self.source)


class ConfigError(ProblemsError):
    """Invalid case file; ``problems`` holds one message per bad key."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        super().__init__(problems, source)


# -- values and lists of problems, shortened ------------------------------------------------
def shorten(value: Any, width: int = 60) -> str:
    """A user's value for a message, about ``width`` characters at most: long strings,
    arrays and tables keep their start and say how long they are; true/false as in TOML."""
    return _short(value, width, 3)


def _short(value: Any, width: int, depth: int) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        number = int(value)
        return repr(number) if abs(number) < 10**15 else _big_int(number)
    if isinstance(value, float):  # also numpy's float64
        return repr(float(value))
    if isinstance(value, str):
        if len(value) <= width:
            return repr(value)
        return f"{value[: width // 2]!r}... ({len(value)} characters)"
    if isinstance(value, list | tuple | dict):
        return _short_container(value, width, depth)
    text = repr(value)
    return text if len(text) <= width else text[:width] + "..."


def _big_int(value: int) -> str:
    if value.bit_length() < 1000:
        return f"{float(value):.6g}"
    return f"an integer of {int(value.bit_length() * 0.30103) + 1} digits"


def _short_container(value: list | tuple | dict, width: int, depth: int) -> str:
    is_dict = isinstance(value, dict)
    ends = "{}" if is_dict else "[]"
    if depth == 0:
        return f"{ends[0]}...{ends[1]}" if value else ends
    parts: list[str] = []
    used = 0
    for item in value.items() if isinstance(value, dict) else value:
        if is_dict:
            text = f"{_short(item[0], 20, 0)}: {_short(item[1], width // 2, depth - 1)}"
        else:
            text = _short(item, width // 2, depth - 1)
        if parts and used + len(text) > width:
            break
        parts.append(text)
        used += len(text) + 2
    if len(parts) < len(value):
        noun = "keys" if is_dict else "items"
        parts.append(f"... ({len(value)} {noun})")
    return ends[0] + ", ".join(parts) + ends[1]


#: Quoted names and numbers: what varies between problems of the same form.
_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def bounded(problems: list[str]) -> list[str]:
    """``problems`` made short: each line at most :data:`MAX_LINE` characters, more than
    :data:`SIMILAR` lines that differ only in names and numbers collapsed into the first
    with a count and examples, at most :data:`MAX_PROBLEMS` lines. Linear in the count."""
    groups: dict[str, list[tuple[str, list[str]]]] = {}
    for line in problems:
        line = _clip(str(line))
        groups.setdefault(_TOKEN.sub("#", line), []).append((line, _TOKEN.findall(line)))
    out: list[str] = []
    for members in groups.values():
        out += [m[0] for m in members] if len(members) <= SIMILAR else [_collapse(members)]
    if len(out) > MAX_PROBLEMS:
        rest = len(out) - MAX_PROBLEMS + 1
        out = [*out[: MAX_PROBLEMS - 1], f"... and {rest} more problems (fix these first)"]
    return out


def _clip(line: str) -> str:
    if len(line) <= MAX_LINE:
        return line
    return f"{line[: MAX_LINE - 120]} ... {line[-110:]}"


def _collapse(members: list[tuple[str, list[str]]]) -> str:
    """The first of many similar problems, with their count and what varies in a few."""
    first, tokens = members[0]
    varying = [i for i in range(len(tokens)) if any(m[1][i] != tokens[i] for m in members[1:])]
    examples = ["/".join(m[1][i] for i in varying) for m in members[1 : SIMILAR + 1]]
    more = ", ..." if len(members) > SIMILAR + 1 else ""
    return f"{first} [and {len(members) - 1} more like it: {', '.join(examples)}{more}]"


# -- pydantic errors ----------------------------------------------------------------------------
#: Union-member tags pydantic adds to error locations; they are not user keys.
_TAGS = ("str", "list[str]")


def location(loc: tuple) -> str:
    """``electrodes[0].kinetics.electrode`` style path of an error location."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        part = str(part) if len(str(part)) <= 40 else f"{str(part)[:30]}...({len(part)} chars)"
        out += f".{part}" if out else part
    return out or "(top level)"


def lookup(data: Any, loc: tuple) -> Any:
    """The user's value at ``loc`` (``None`` if absent)."""
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``X``, ``X | None``, ``list[X]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = inner_model(arg)
        if found is not None:
            return found
    return None


def allowed_keys(root: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model that holds the last key of ``loc``."""
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = inner_model(field.annotation) if field else None
    return list(model.model_fields) if model is not None else []


def _loc(error: ErrorDetails) -> tuple:
    return tuple(p for p in error["loc"] if p not in _TAGS)


def describe(error: ErrorDetails, data: dict, root: type[BaseModel]) -> str:
    """One line for one pydantic error of ``data`` validated against ``root``."""
    loc = _loc(error)
    where = location(loc)
    if error["type"] == "extra_forbidden":
        allowed = allowed_keys(root, loc)
        hint = difflib.get_close_matches(str(loc[-1])[:100], allowed, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        return f"unknown key {where!r}.{extra} Allowed here: {', '.join(allowed)}"
    if error["type"] == "missing":
        return f"missing required key {where!r}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("model_type", "dict_type"):  # not the class names of the schema
        message = "expected a table (a [section] or { key = value, ... })"
    value = lookup(data, loc)
    if isinstance(value, bool) and error["type"] in ("float_type", "int_type"):
        message += " (true/false is not a number)"
    if isinstance(value, dict):  # a whole table: name it, do not print it
        return f"{where}: {message}"
    return f"{where} = {shorten(value)}: {message}"


def describe_all(errors: Sequence[ErrorDetails], data: dict, root: type[BaseModel]) -> list[str]:
    """One line per problem; more than :data:`SIMILAR` errors that differ only in list
    indices (or, for unknown keys, in the key) become one line with their count."""
    groups: dict[tuple, list[ErrorDetails]] = {}
    for error in errors:
        loc = _loc(error)
        unknown = error["type"] == "extra_forbidden"
        shape = tuple("*" if isinstance(p, int) else p for p in (loc[:-1] if unknown else loc))
        groups.setdefault((error["type"], shape), []).append(error)
    out: list[str] = []
    for (kind, _), members in groups.items():
        if len(members) <= SIMILAR:
            out += dict.fromkeys(describe(e, data, root) for e in members)
        elif kind == "extra_forbidden":
            out.append(_unknown_keys(members, root))
        else:
            where = ", ".join(location(_loc(e)) for e in members[1 : SIMILAR + 1])
            more = f"[and {len(members) - 1} more like it: {where}, ...]"
            out.append(f"{describe(members[0], data, root)} {more}")
    return out


def _unknown_keys(members: list[ErrorDetails], root: type[BaseModel]) -> str:
    locs = [_loc(e) for e in members]
    names = ", ".join(repr(location(loc[-1:])) for loc in locs[:SIMILAR])
    allowed = ", ".join(allowed_keys(root, locs[0]))
    where = location(locs[0][:-1])
    return (
        f"unknown keys in {where!r}: {names} and {len(locs) - SIMILAR} more. "
        f"Allowed here: {allowed}"
    )


# -- files ----------------------------------------------------------------------------------------
def read_toml(path: str | Path, error: type[ProblemsError], what: str = "file") -> dict:
    """The table of a TOML file (UTF-8; a byte-order mark is skipped). Raises ``error``
    with one problem naming the file and what is wrong: missing, a folder, unreadable,
    not UTF-8 (the first bad byte and its line), not TOML, nested too deeply."""
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise error([f"{what} {source!r} is a directory, not a file"], source)
    if not path.exists():
        raise error([f"{what} {source!r} does not exist"], source)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise error([f"{what} {source!r} cannot be read: {err.strerror or err}"], source) from None
    text, problem = _decode(raw)
    if problem is None:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            problem = f"not valid TOML: {err}"
        except RecursionError:
            problem = "not valid TOML here: arrays or tables nested too deeply (hundreds of levels)"
        except ValueError as err:  # e.g. an integer of thousands of digits
            problem = f"not valid TOML here: {str(err).split(':')[0]}"
    raise error([problem], source)


def _decode(raw: bytes) -> tuple[str, str | None]:
    """(text, None), or ("", the problem) when ``raw`` is not UTF-8."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return (
            "",
            "not UTF-8 text: the file is UTF-16 (it starts with a UTF-16 byte-order mark); "
            "save it as UTF-8",
        )
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - raw.rfind(b"\n", 0, err.start)
        return "", (
            f"not UTF-8 text: byte 0x{raw[err.start]:02x} at line {line}, column {column} "
            "(TOML files are UTF-8: save the file as UTF-8)"
        )


#: A name that becomes a folder (``results/<name>``): letters, digits and ``- _ . +``,
#: not starting with a dot, so never a path, ``.``/``..`` or a hidden folder.
_FOLDER_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,99}")
FOLDER_NAME_RULE = (
    "must be a plain folder name (results/<name>): 1 to 100 letters, digits or - _ . +, "
    "not starting with a dot"
)


def folder_name(value: str) -> str:
    """``value`` if it is a plain folder name (:data:`FOLDER_NAME_RULE`), else ValueError."""
    if not _FOLDER_NAME.fullmatch(value):
        raise ValueError(FOLDER_NAME_RULE)
    return value


#: A string field checked with :func:`folder_name`.
FolderName = Annotated[str, AfterValidator(folder_name)]
