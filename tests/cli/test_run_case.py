"""``femli check`` and ``femli run``: clean errors, a known answer, every output file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mpi4py import MPI
from shared_cases import GROWTH

from femli.case.checks import parse_case
from femli.pipeline import run_case

UNIFORM = """
name = "uniform"
[geometry]
preset = "seed000_planar"
[electrolyte]
model = "tertiary"
[[electrodes]]
name = "li"
current_density = -50.0
[electrodes.kinetics.electrode]
type = "butler-volmer"
exchange_current = 30.0
alpha_a = 1.5
alpha_c = 0.5
"""


def femli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "femli", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_check_accepts_a_good_file(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text(UNIFORM)
    result = femli("check", str(case), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_check_rejects_a_bad_file_with_one_message(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text(UNIFORM.replace("alpha_a = 1.5", "alpha_a = -1.5"))
    result = femli("check", str(case), cwd=tmp_path)
    assert result.returncode == 2
    assert "electrodes[0].kinetics.electrode.alpha_a = -1.5" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_names_a_missing_boundary_cleanly(tmp_path):
    case = tmp_path / "case.toml"
    case.write_text(
        UNIFORM.replace("[electrodes.kinetics.electrode]", "[electrodes.kinetics.anode]")
    )
    result = femli("run", str(case), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no boundary region named 'anode'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.mpi
def test_uniform_planar_electrode_has_no_hotspots(mpi_tmp_path):
    import tomllib

    out = mpi_tmp_path / "uniform"
    metrics = run_case(parse_case(tomllib.loads(UNIFORM)), out, MPI.COMM_WORLD)
    stats = metrics["electrodes"]["li"]["deposition_current_density"]
    assert stats["hotspot_index"] == pytest.approx(1.0, abs=1e-6)
    assert stats["coefficient_of_variation"] == pytest.approx(0.0, abs=1e-6)
    assert stats["mean_A_m2"] == pytest.approx(50.0, rel=1e-6)
    MPI.COMM_WORLD.barrier()
    expected = [
        "metrics.json",
        "config.toml",
        "surface_current_li.csv",
        "surface_current_li.png",
        "electrode_li.png",
        "concentration_flux.png",
        "current_density.png",
        "fields/solution.vtu",
        "fields/electrode_li.vtp",
    ]
    for name in expected:
        assert (out / name).exists(), name
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["status"] == "completed"
    assert on_disk["config_sha256"] == parse_case(tomllib.loads(UNIFORM)).digest()
    assert not (out / "fields.tmp").exists()
    stages = on_disk["stages"]  # time and memory per stage
    assert list(stages) == ["mesh", "setup", "solve", "output"]
    for stage in stages.values():
        assert stage["seconds"] > 0.0
        assert stage["peak_rss_mb_total"] >= stage["peak_rss_mb_max"] > 0.0
    assert 0.0 < stages["solve"]["assembly_seconds"] <= stages["solve"]["seconds"]
    assert on_disk["timings_s"]["solve"] == pytest.approx(stages["solve"]["seconds"])


def test_time_dependent_case_writes_a_time_series(mpi_tmp_path):
    import tomllib

    text = UNIFORM + "\n[time]\nt_end = 0.2\n"
    config = parse_case(tomllib.loads(text.replace("[output]", "")))
    out = mpi_tmp_path / "transient"
    metrics = run_case(config, out, MPI.COMM_WORLD)
    assert metrics["transient"]["t_final_s"] == pytest.approx(0.2)
    assert metrics["transient"]["stop_reason"] == "t_end"
    rows = (out / "time_series.csv").read_text().splitlines()
    assert rows[0].startswith("step,t_s,dt_s")
    assert len(rows) == metrics["transient"]["steps"] + 2
    currents = [float(r.split(",")[6]) for r in rows[1:]]
    assert currents == pytest.approx([currents[0]] * len(currents), rel=1e-6)  # galvanostatic


@pytest.mark.mpi
def test_growth_case_writes_series_snapshots_and_moving_fields(mpi_tmp_path):
    import tomllib

    out = mpi_tmp_path / "grow"
    metrics = run_case(parse_case(tomllib.loads(GROWTH)), out, MPI.COMM_WORLD)
    growth = metrics["growth"]
    assert growth["t_s"] == pytest.approx(6.0)
    assert growth["deposited_volume_m3"] == pytest.approx(
        -growth["charge_C"] * 6.94e-3 / (96485.33212 * 534.0), rel=5e-3
    )
    assert growth["max_height_m"] > growth["initial"]["max_height_m"]
    MPI.COMM_WORLD.barrier()
    for name in (
        "growth_series.csv",
        "growth_series.png",
        "morphology_li_t0003.000s.png",
        "morphology_li_t0006.000s.png",
        "series/solution.pvd",
        "series/electrode_li.pvd",
        "electrode_li.gif",
    ):
        assert (out / name).exists(), name
    rows = (out / "growth_series.csv").read_text().splitlines()
    assert len(rows) == growth["steps"] + 2
