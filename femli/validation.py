"""One-line messages for pydantic validation errors, shared by case and study files.

Each message names the key (dotted, with list indices), the offending value and
what is allowed; unknown keys get a did-you-mean and the keys allowed there.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel


class ProblemsError(ValueError):
    """Invalid input; ``problems`` holds one message per problem, ``source`` names the
    file (or command) they were found in. Pickled with both (sent between MPI ranks)."""

    def __init__(self, problems: list[str], source: str) -> None:
        self.problems, self.source = problems, source
        super().__init__(f"{source}: " + "; ".join(problems))

    def __reduce__(self):
        return type(self), (self.problems, self.source)


#: Union-member tags pydantic adds to error locations; they are not user keys.
_TAGS = ("str", "list[str]")


def location(loc: tuple) -> str:
    """``electrodes[0].kinetics.electrode`` style path of an error location."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
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


def describe(error: dict, data: dict, root: type[BaseModel]) -> str:
    """One line for one pydantic error of ``data`` validated against ``root``."""
    loc = tuple(p for p in error["loc"] if p not in _TAGS)
    where = location(loc)
    if error["type"] == "extra_forbidden":
        allowed = allowed_keys(root, loc)
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        extra = f" Did you mean {hint[0]!r}?" if hint else ""
        return f"unknown key {where!r}.{extra} Allowed here: {', '.join(allowed)}"
    if error["type"] == "missing":
        return f"missing required key {where!r}"
    message = error["msg"].removeprefix("Value error, ")
    value = lookup(data, loc)
    if isinstance(value, dict):  # a whole table: name it, do not print it
        return f"{where}: {message}"
    return f"{where} = {value!r}: {message}"


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
