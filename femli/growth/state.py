"""A growth run's state as plain data, for checkpoints: what a run needs to go on after a
recorded step as if it had never stopped. SI units (lengths in m; remesh sizes in um).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from femli.geometry.core import RemeshSizing
from femli.growth.options import Metal

if TYPE_CHECKING:
    from femli.growth.solver import GrowthSolver

__all__ = ["restore", "state"]


def state(growth: GrowthSolver) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """``meta`` (JSON-able): the time (s), charge (C; C/m in 2D), records, remesh count,
    initial volume and area (SI), remesh sizes (um, and those of the boundaries that keep
    their own), merge events, trapped electrolyte (m^3; m^2 in 2D), initial deposit centres
    (um) and the new meshes' wall seconds, with the electrochemistry's
    (``StationaryChemistry.state`` or ``TransientChemistry.state``); ``arrays`` its local
    arrays (unknowns, ...).

    The state is a restart point: the mesh mover builds its extension operator on this
    shape at the next step, as a run restarted from it does."""
    growth.mover.rebuild_next()
    meta = {
        "t": growth.t,
        "charge": growth.charge,
        "records": growth.records,
        "remeshes": growth.remeshes,
        "volume0": growth.volume0,
        "area0": growth.area0,
        "sizes": None if growth.sizes is None else list(growth.sizes),
        "kept_sizes": dict(growth.sizing.kept),
        "merges": growth.merges,
        "trapped": growth.trapped,
        "detached": growth.detached,
        "faraday": growth.faraday,
        "seeds": None if growth.seeds is None else np.asarray(growth.seeds).tolist(),
        "fresh_quality": growth.fresh_quality,
        "deferred_dt": growth.keeper.last_dt,
        "carried_volume": growth.keeper.carried,
        "seconds": dict(growth.seconds),
    }
    chemistry, arrays = growth.chemistry.state()
    if growth.keeper.expected is not None:
        arrays = arrays | {"expected_rates": [growth.keeper.expected]}
    return meta | chemistry, arrays


def restore(growth: GrowthSolver, meta: dict, arrays: dict[str, list[np.ndarray]]) -> None:
    """Put back a :func:`state` (into a new solver on the saved, moved mesh). Checkpoints
    without merge data (older ones) restore none."""
    growth.t, growth.charge = float(meta["t"]), float(meta["charge"])
    growth.records = list(meta["records"])
    growth.remeshes = int(meta["remeshes"])
    growth.seconds.update(meta.get("seconds", {}))  # (older checkpoints: none)
    growth.volume0, growth.area0 = float(meta["volume0"]), float(meta["area0"])
    growth.sizes = None if meta["sizes"] is None else tuple(meta["sizes"])
    kept = meta.get("kept_sizes", {})  # older checkpoints kept none
    growth.sizing = RemeshSizing(kept, growth.options.refinement)
    growth.merges = [dict(event) for event in meta.get("merges", [])]
    growth.fresh_quality = meta.get("fresh_quality")  # older checkpoints: none
    growth.trapped = float(meta.get("trapped", 0.0))
    growth.detached = float(meta.get("detached", 0.0))
    growth.faraday = float(meta.get("faraday", -growth.charge * Metal().volume_per_charge))
    if meta.get("seeds") is not None:  # the restored mesh may have fewer pieces
        dim = growth.model.domain.dim
        growth.seeds = np.array(meta["seeds"], dtype=float).reshape(-1, dim)
    if "expected_rates" in arrays:
        growth.keeper.accept(arrays["expected_rates"][0], float(meta["deferred_dt"]))
    growth.keeper.carry(float(meta.get("carried_volume", 0.0)))  # older: none
    growth.chemistry.restore(meta, arrays, growth.t)
    growth.currents.refresh()
