"""UFL's expression traversers without CPython's leaking method cache.

UFL (2025 and later) dispatches its derivative rules with
:class:`functools.singledispatchmethod`. In CPython 3.12.0-3.12.8 and 3.13.0-3.13.1 that
descriptor caches the bound method per instance in a ``WeakKeyDictionary`` whose value
(a closure over the instance) keeps its own key alive (CPython issue gh-127750, fixed by
removing the cache in 3.12.9 and 3.13.2). Every traverser UFL makes then lives until the
process ends, with its caches of the expressions it visited: their coefficients, and
through them DOLFINx's functions, function spaces and meshes. Each femli problem built
so leaked its model (8 MB at 77 k nodes, 30 MB at 274 k), and so would every old mesh of
a growth run that rebuilds its mesh.

:func:`disable_method_caches` switches that cache off on UFL's traversers (what the
fixed CPython does), where the running CPython has it; elsewhere it does nothing.
Importing this module calls it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import ufl.algorithms  # noqa: F401  (defines the derivative rule sets)
from ufl.corealg.dag_traverser import DAGTraverser

__all__ = ["disable_method_caches"]


def _subclasses(cls: type) -> Iterator[type]:
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _subclasses(sub)


def disable_method_caches() -> int:
    """Switch off the per-instance cache of every ``singledispatchmethod`` of UFL's
    traversers (the classes defined so far). Returns how many caches were on."""
    switched = 0
    for cls in (DAGTraverser, *_subclasses(DAGTraverser)):
        for method in vars(cls).values():
            cached = getattr(method, "_method_cache", None) is not None
            if isinstance(method, functools.singledispatchmethod) and cached:
                method._method_cache = None  # type: ignore[attr-defined]
                switched += 1
    return switched


disable_method_caches()
