"""``--restart`` of a 2D growth run that merges deposits: the merge events, the trapped
electrolyte and the deposit numbering come back from the checkpoint, so the resumed run
ends where the uninterrupted one ends (and reports the same merges).

Two nuclei of 0.5 um in a 1.5 um box ([growth] merge_gap_um = 0.05): after step 4 both
meet their side walls, after step 5 each other, after step 6 the notch between them
closes and traps 1.7e-3 um2 of electrolyte; 12 steps to 18 s. Serial only: a remesh of
a checkpoint mesh partitioned anew differs at round-off (see test_restart.py).
"""

from __future__ import annotations

import csv
import json

import pytest
from folder_checks import check_completed
from mpi4py import MPI
from test_restart import interrupted, same_rows

from femli.case.checks import parse_case
from femli.pipeline import run_case


def merging(interval: int | None) -> dict:
    return {
        "name": "merge",
        "geometry": {
            "kind": "nucleus_array",
            "dim": 2,
            "width": 1.5,
            "height": 1.5,
            "diameter": 0.5,
            "count": 2,
            "placement": "lattice",
        },
        "electrolyte": {"model": "secondary"},
        "electrodes": [
            {
                "name": "li",
                "potential": -0.05,
                "kinetics": {"nuclei": {"exchange_current": 30.0, "alpha_a": 1.5, "alpha_c": 0.5}},
            }
        ],
        "growth": {
            "t_end": 18.0,
            "max_displacement_um": 0.02,
            "min_quality": 0.3,
            "merge_gap_um": 0.05,
        },
        "output": {"renders": False, "fields": False, "checkpoint_interval": interval},
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The run without checkpoints: its folder and metrics (the same physics: checkpoint
    settings are not part of it)."""
    out = tmp_path_factory.mktemp("full")
    growth = run_case(parse_case(merging(None)), out, MPI.COMM_WORLD)["growth"]
    return out, growth


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: remeshes differ at round-off")
@pytest.mark.parametrize(
    ("interval", "stop", "resumed", "merges"),
    [
        pytest.param(4, 9, 8, 4, id="after_every_merge"),
        pytest.param(3, 7, 6, 3, id="a_merge_due_on_resuming"),
    ],
)
def test_restart_after_merges_gives_the_uninterrupted_result(
    tmp_path, uninterrupted, interval, stop, resumed, merges
):
    config = parse_case(merging(interval))
    folder, full = uninterrupted
    assert (full["steps"], full["merges"], len(full["merge_events"])) == (12, 4, 4)
    assert full["trapped_volume_m3"] > 1e-15  # m2 per unit depth: the closed notch
    cut = tmp_path / "cut"
    state = interrupted(config, cut, stop)
    assert state["step"] == resumed and len(state["merges"]) == merges
    again = run_case(config, cut, MPI.COMM_WORLD, restart=True)["growth"]
    for key in ("t_s", "steps", "remeshes", "merges", "trapped_volume_m3", "deposited_volume_m3"):
        assert again[key] == pytest.approx(full[key], rel=1e-8), key
    assert again["merge_events"] == full["merge_events"]
    same_rows(folder / "growth_series.csv", cut / "growth_series.csv", 1e-8)
    check_completed(cut, config.digest())


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: shares the serial run")
def test_series_and_metrics_report_the_merges(uninterrupted):
    """growth_series.csv: cumulative merges and trapped volume per step; metrics.json: the
    events (time, deposits, what they met, gap, trapped area) adding up to the same."""
    folder, _ = uninterrupted
    growth = json.loads((folder / "metrics.json").read_text())["growth"]
    with open(folder / "growth_series.csv") as f:
        rows = list(csv.DictReader(f))
    merges = [int(float(r["merges"])) for r in rows]
    trapped = [float(r["trapped_volume_m3"]) for r in rows]
    assert merges == sorted(merges) and merges[0] == 0 and merges[-1] == growth["merges"] == 4
    events = growth["merge_events"]
    centres = growth["deposit_centres_um"]  # what the deposit ids index
    assert len(centres) == 2 and centres[0][0] != pytest.approx(centres[1][0])
    walls = {e["with"]: e["deposits"] for e in events[:2]}
    left = min(range(2), key=lambda k: centres[k][0])
    assert walls == {"wall_left": [left], "wall_right": [1 - left]}
    assert sorted([*events[2]["deposits"], *events[2]["with"]]) == [0, 1]
    assert all(0 < e["gap_um"] < 0.05 and e["t_s"] < 18.0 for e in events)
    assert trapped[-1] == pytest.approx(sum(e["trapped_volume_m3"] for e in events), rel=1e-12)
    assert trapped[-1] == pytest.approx(growth["trapped_volume_m3"], rel=1e-9)


def merging_3d(interval: int | None) -> dict:
    """Two 0.5 um hemispheres on a 0.6 um lattice in 3D (coarse), 100 A/m2: at step 2
    (2.97 s) they merge with each other and with their mirror images in the x walls
    (a level-set rebuild) and go on to 4.5 s. The 2D case's electrolyte and kinetics."""
    case = merging(interval)
    case["name"] = "merge3d"
    case["geometry"] |= {"dim": 3, "width": 1.2, "depth": 1.0, "height": 1.0}
    case["geometry"] |= {"h_nucleus": 0.06, "h_substrate": 0.12, "h_far": 0.3}
    electrode = case["electrodes"][0]
    del electrode["potential"]
    electrode["current_density"] = -100.0
    case["growth"] |= {"t_end": 4.5, "min_quality": 0.1}
    return case


@pytest.fixture(scope="module")
def uninterrupted_3d(tmp_path_factory):
    out = tmp_path_factory.mktemp("full3d")
    return out, run_case(parse_case(merging_3d(None)), out, MPI.COMM_WORLD)["growth"]


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: remeshes differ at round-off")
@pytest.mark.parametrize(
    ("stop", "merges"),
    [
        pytest.param(2, 0, id="3d_merge_due_on_resuming"),
        pytest.param(3, 3, id="3d_on_the_rebuilt_mesh"),
    ],
)
def test_3d_restart_across_a_rebuild_gives_the_uninterrupted_result(
    tmp_path, uninterrupted_3d, stop, merges
):
    """Checkpoints every step: resumed before the merge's rebuild (due on resuming) or on
    the rebuilt mesh (the merges and trapped volume in the checkpoint), the run ends where
    the uninterrupted one ends."""
    folder, full = uninterrupted_3d
    assert full["merges"] >= 3 and full["remeshes"] >= 1 and full["trapped_volume_m3"] > 0
    config = parse_case(merging_3d(1))
    cut = tmp_path / "cut"
    state = interrupted(config, cut, stop)
    assert len(state["merges"]) == merges, state["step"]
    again = run_case(config, cut, MPI.COMM_WORLD, restart=True)["growth"]
    for key in ("t_s", "steps", "remeshes", "merges", "trapped_volume_m3", "deposited_volume_m3"):
        assert again[key] == pytest.approx(full[key], rel=1e-8), key
    assert again["merge_events"] == full["merge_events"]
    same_rows(folder / "growth_series.csv", cut / "growth_series.csv", 1e-8)
    check_completed(cut, config.digest())
