"""Merging deposits in 2D growth: two nuclei grow into each other (and into their mirror
images at the side walls); the run fuses them, drops the enclosed electrolyte as trapped
and goes on past the touching time with Faraday's law intact."""

from __future__ import annotations

import numpy as np
import pytest
from shared_cases import two_nuclei as two_nuclei_setup

from femli.geometry.loops import Polyline, signed_area
from femli.geometry.pinch import deposit_seeds, fuse, loop_arrays
from femli.growth.motion import MeshMotionError
from femli.growth.solver import GrowthOptions, GrowthSolver, Metal
from femli.physics.conditions import Bulk
from femli.physics.electrolyte import binary
from femli.physics.model import CellModel


def cap(centre: float, radius: float, n: int = 40) -> np.ndarray:
    theta = np.linspace(np.pi, 0.0, n)
    return np.column_stack([centre + radius * np.cos(theta), radius * np.sin(theta)])


def test_two_touching_caps_fuse_and_the_pocket_is_trapped():
    r = 1.995  # caps centred at 3 and 7: feet 0.01 apart
    loop = [
        Polyline("substrate", np.array([[0.0, 0], [3 - r, 0]])),
        Polyline("nuclei", cap(3, r)),
        Polyline("substrate", np.array([[3 + r, 0], [7 - r, 0]])),
        Polyline("nuclei", cap(7, r)),
        Polyline("substrate", np.array([[7 + r, 0], [10, 0]])),
        Polyline("wall_right", np.array([[10.0, 0], [10, 10]])),
        Polyline("bulk", np.array([[10.0, 10], [0, 10]])),
        Polyline("wall_left", np.array([[0.0, 10], [0, 0]])),
    ]
    points, names = loop_arrays(loop)
    seeds = deposit_seeds(points, names, ["nuclei"])
    fused, events = fuse(loop, ["nuclei"], ["bulk"], 0.05, seeds)
    after = signed_area(loop_arrays(fused)[0])
    assert [e["deposits"] for e in events] == [[0]] and events[0]["with"] == [1]
    assert signed_area(points) - after == pytest.approx(events[0]["trapped"], rel=1e-9)
    assert 0 < events[0]["trapped"] < 0.01  # the strip between the feet and the cusp
    assert [line.name for line in fused].count("nuclei") == 1  # one deposit now
    untouched, none = fuse(loop, ["nuclei"], ["bulk"], 0.005, seeds)  # feet 0.01 apart
    assert none == []
    assert signed_area(loop_arrays(untouched)[0]) == pytest.approx(signed_area(points))


def two_nuclei(merge_gap: float | None, t_end: float) -> GrowthSolver:
    """Two 0.5 um nuclei in a 1.5 um box at -50 mV (secondary): they meet the walls (their
    mirror images) near 8 s and each other near 10 s."""
    domain, electrode = two_nuclei_setup()
    model = CellModel(
        domain, binary(1000.0, 5e-10, 5e-10, model="secondary"), [electrode], [Bulk(("bulk",))]
    )
    options = GrowthOptions(
        t_end=t_end, max_displacement=0.02e-6, min_quality=0.3, merge_gap=merge_gap
    )
    return GrowthSolver(model, options)


@pytest.mark.mpi
def test_two_nuclei_merge_and_growth_goes_on_with_faraday():
    growth = two_nuclei(0.05e-6, 18.0)
    final = growth.run()[-1]
    touching = 0.125e-6 / (final["max_height"] - 0.25e-6) * final["t"]  # gap / (2 v)
    assert final["t"] == pytest.approx(18.0) and final["t"] > 1.4 * touching
    pair = [m for m in growth.merges if isinstance(m["with"], list)]
    assert pair and sorted([*pair[0]["deposits"], *pair[0]["with"]]) == [0, 1]
    assert any(m["with"] == "wall_left" for m in growth.merges)
    assert final["merges"] == len(growth.merges) and final["trapped_volume"] > 0
    faraday = -final["charge"] * Metal().volume_per_charge
    assert final["deposited_volume"] == pytest.approx(faraday, rel=5e-3)  # measured 0.02 %


@pytest.mark.mpi
def test_without_merge_gap_touching_deposits_stop_with_what_to_set():
    growth = two_nuclei(None, 18.0)
    with pytest.raises(MeshMotionError) as info:
        growth.run()
    message = str(info.value)
    assert message.startswith(f"deposits touch at t = {growth.t:.4g} s (deposit [")
    assert " nm from " in message and "set [growth] merge_gap_um (2D; e.g. 0.05)" in message
    assert 8.0 < growth.t < 18.0 and not growth.merges
