"""The reduced seed reproductions (examples/seed000_bilayer, examples/seed003_nuclei) run
from their case files and show what their READMEs claim, and only that."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from mpi4py import MPI

from femli.case.checks import load_case
from femli.pipeline import run_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED000 = EXAMPLES / "seed000_bilayer"
SEED003 = EXAMPLES / "seed003_nuclei"


def run(path: Path, out: Path) -> dict:
    return run_case(load_case(path), out / path.stem, MPI.COMM_WORLD, path.parent)


def deposition(metrics: dict) -> tuple[dict, dict]:
    (electrode,) = metrics["electrodes"].values()
    return electrode, electrode["deposition_current_density"]


@pytest.mark.mpi
def test_seed000_bilayer_lowers_hotspot_index_and_cv(mpi_tmp_path):
    bare_e, bare = deposition(run(SEED000 / "bare_li_reduced.toml", mpi_tmp_path))
    bl_e, bl = deposition(run(SEED000 / "bilayer_reduced.toml", mpi_tmp_path))
    # both carry 20 mA/cm2 (200 A/m2) per 10 um footprint (2D: A per m of depth)
    for e in (bare_e, bl_e):
        assert -e["total_current_A"] / 10e-6 == pytest.approx(200.0, rel=2e-3)
    # asperities focus current on bare Li at this rate
    assert bare["hotspot_index"] > 1.1
    # the paper's claim (Fig. 3j/3k): the bilayer smooths the current distribution
    assert bl["hotspot_index"] < bare["hotspot_index"] - 0.05
    assert bl["coefficient_of_variation"] < 0.5 * bare["coefficient_of_variation"]


def _footprint_module():
    spec = importlib.util.spec_from_file_location("seed003_footprint", SEED003 / "footprint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed003_nuclei_uniform_per_active_area_spread_per_footprint(mpi_tmp_path):
    footprint = _footprint_module()
    numbers = {}
    for name in ("bare_li_reduced", "scp_li_reduced"):
        metrics = run(SEED003 / f"{name}.toml", mpi_tmp_path)
        electrode, stats = deposition(metrics)
        assert electrode["potential_V"] == pytest.approx(-0.02)
        # Wagner number ~3e3: uniform over whatever is active (here the nuclei)
        assert stats["hotspot_index"] < 1.01
        assert stats["coefficient_of_variation"] < 0.01
        numbers[name] = footprint.footprint_numbers(mpi_tmp_path / name, bin_um=0.5)
    for r in numbers.values():
        # per footprint the hotspot index is then just footprint / active area
        assert r["footprint_hotspot_index"] == pytest.approx(1 / r["active_fraction"], rel=0.01)
        assert r["csv_current_nA"] == pytest.approx(r["total_current_nA"], rel=1e-3)
    bare, scp = numbers["bare_li_reduced"], numbers["scp_li_reduced"]
    # many small nuclei spread the deposition over the footprint more evenly ...
    assert scp["binned_cv"] < 0.6 * bare["binned_cv"]
    assert scp["binned_empty_fraction"] < bare["binned_empty_fraction"]
    # ... but with the preset counts they expose less active area, so the
    # footprint-normalised hotspot index is higher for SCP@Li (README says so)
    assert scp["footprint_hotspot_index"] > bare["footprint_hotspot_index"]
