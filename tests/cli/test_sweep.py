"""``femli sweep`` and :func:`femli.study.run_study`: runs, aggregation, resume, MPI groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from mpi4py import MPI
from shared_cases import RIDGE_CASE
from typer.testing import CliRunner

from femli.cli import app
from femli.outputs.files import atomic_write_bytes
from femli.outputs.folder import tracking
from femli.study import aggregate, expand_study, run_study

CASE = RIDGE_CASE

STUDY = """
name = "ridge_sweep"
base = "case.toml"
[[axes]]
key = "electrodes.0.current_density"
values = [-50.0, -100.0]
[[axes]]
key = "geometry.asperity_height"
range = { start = 0.5, stop = 1.5, num = 2 }
[[plot]]
metric = "hotspot_index"
param = "asperity_height"
"""


def write_study(folder: Path, study: str = STUDY, case: str = CASE) -> Path:
    """Study and base case files in ``folder`` (rank 0 writes; all ranks wait)."""
    if MPI.COMM_WORLD.rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "case.toml").write_text(case)
        (folder / "study.toml").write_text(study)
    MPI.COMM_WORLD.barrier()
    return folder / "study.toml"


def metrics_of(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def mtimes(output: Path, ids: list[str]) -> dict[str, int]:
    return {i: (output / i / "metrics.json").stat().st_mtime_ns for i in ids}


@pytest.mark.mpi
def test_sweep_runs_cases_in_groups_and_aggregates(mpi_tmp_path):
    comm = MPI.COMM_WORLD
    out = mpi_tmp_path / "out"
    result = run_study(write_study(mpi_tmp_path), out, comm, ranks_per_case=1)
    assert [o.action for o in result.outcomes] == ["ran"] * 4
    assert result.groups == comm.size
    assert [o.group for o in result.outcomes] == [k % comm.size for k in range(4)]
    if comm.size > 1:  # the two groups worked at the same time
        spans = [
            (min(o.started for o in mine), max(o.started + o.seconds for o in mine))
            for mine in (result.outcomes[0::2], result.outcomes[1::2])
        ]
        assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]
    if comm.rank != 0:
        assert result.table is None
        return
    table = result.table
    assert list(table["status"]) == ["completed"] * 4
    assert list(table["current_density"]) == [-50.0, -50.0, -100.0, -100.0]
    for row in table.to_dict("records"):
        m = metrics_of(out / row["case_id"])
        li = m["electrodes"]["li"]
        stats = li["deposition_current_density"]
        assert m["mpi_size"] == 1
        assert row["li.total_current_A"] == li["total_current_A"]
        assert row["li.potential_V"] == li["potential_V"]
        assert row["li.hotspot_index"] == stats["hotspot_index"]
        assert row["li.deposition_p95_A_m2"] == stats["p95_A_m2"]
        assert row["li.cv"] == stats["coefficient_of_variation"]
        assert row["min_concentration_mol_m3"] == m["min_concentration_mol_m3"]
        assert row["dofs"] == m["dofs"]
        assert row["solve_time_s"] == m["timings_s"]["solve"]
        assert stats["mean_A_m2"] == pytest.approx(-row["current_density"], rel=1e-6)
    taller = table.groupby("asperity_height")["li.hotspot_index"].mean()
    assert taller[1.5] > taller[0.5] > 1.0
    assert aggregate(out, write=False).equals(table)  # a later aggregation gives the same
    for name in ("cases.csv", "summary.csv", "summary.parquet"):
        assert (out / name).stat().st_size > 0
    assert (out / "plots" / "hotspot_index_vs_asperity_height.png").stat().st_size > 1000


@pytest.mark.mpi
def test_all_ranks_on_each_case(mpi_tmp_path):
    comm = MPI.COMM_WORLD
    study = STUDY.replace("values = [-50.0, -100.0]", "values = [-80.0]")
    out = mpi_tmp_path / "out"
    result = run_study(write_study(mpi_tmp_path, study), out, comm, ranks_per_case=comm.size)
    assert result.groups == 1
    assert [o.action for o in result.outcomes] == ["ran", "ran"]
    if comm.rank == 0:
        assert set(result.table["mpi_size"]) == {comm.size}
        assert list(result.table["status"]) == ["completed", "completed"]


def test_resume_redoes_exactly_the_unfinished_cases(tmp_path):
    path = write_study(tmp_path)
    out = tmp_path / "out"
    first = run_study(path, out)
    ids = [o.case_id for o in first.outcomes]
    before = mtimes(out, ids)
    (out / ids[0] / "metrics.json").unlink()  # interrupted before the end
    (out / ids[1] / "metrics.json").write_text('{"config_sha256": ')  # corrupt
    tampered = metrics_of(out / ids[2]) | {"config_sha256": "0" * 64}  # another config
    (out / ids[2] / "metrics.json").write_text(json.dumps(tampered))
    with tracking(out / ids[2]):  # a file femli wrote there, and one of the user's
        atomic_write_bytes(out / ids[2] / "leftover.txt", b"stale")
    (out / ids[2] / "notes.txt").write_text("mine")
    second = run_study(path, out)
    assert [o.action for o in second.outcomes] == ["ran", "ran", "ran", "skipped"]
    after = mtimes(out, ids)
    assert after[ids[3]] == before[ids[3]]
    assert all(after[i] > before[i] for i in ids[:3])
    assert not (out / ids[2] / "leftover.txt").exists()  # redone from scratch
    assert (out / ids[2] / "notes.txt").read_text() == "mine"  # femli deletes only its own
    assert list(second.table["status"]) == ["completed"] * 4
    third = run_study(path, out)
    assert [o.action for o in third.outcomes] == ["skipped"] * 4
    (tmp_path / "case.toml").write_text(
        CASE.replace("exchange_current = 30.0", "exchange_current = 20.0")
    )
    fourth = run_study(path, out)
    assert [o.action for o in fourth.outcomes] == ["ran"] * 4
    assert mtimes(out, ids)[ids[3]] > before[ids[3]]


def test_a_failed_case_is_recorded_and_the_sweep_goes_on(tmp_path):
    good = {"electrode": {"exchange_current": 30.0}}
    axis = {
        "key": "electrodes.0.kinetics",
        "values": [good, {"anode": good["electrode"]}, good],
        "labels": ["ok", "no_such_boundary", "ok_again"],
    }
    study = {"base": tomllib.loads(CASE), "axes": [axis]}
    result = run_study(expand_study(study), tmp_path / "out")
    assert [o.action for o in result.outcomes] == ["ran", "failed", "ran"]
    assert result.failed == 1
    bad = tmp_path / "out" / result.outcomes[1].case_id
    status = json.loads((bad / "status.json").read_text())
    assert status["status"] == "failed"
    assert "no boundary region named 'anode'" in status["error"]
    assert status["params"] == {"kinetics": "no_such_boundary"}
    assert (bad / "config.toml").is_file()
    assert not (bad / "metrics.json").exists()
    assert list(result.table["status"]) == ["completed", "failed", "completed"]
    assert "no boundary region named 'anode'" in result.table["error"].iloc[1]
    again = run_study(expand_study(study), tmp_path / "out")
    assert [o.action for o in again.outcomes] == ["skipped", "failed", "skipped"]


runner = CliRunner()


def test_cli_reports_every_bad_case_and_exits_2(tmp_path):
    bad = STUDY.replace("start = 0.5, stop = 1.5", "start = -0.5, stop = 20.0")
    bad = bad.replace("values = [-50.0, -100.0]", 'values = [-50.0, "fast"]')
    path = write_study(tmp_path, bad)
    result = runner.invoke(app, ["sweep", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {path}: 3 problem(s)"
    assert "asperity_height=-0.5 is not allowed" in lines[1]
    assert "electrodes[0].current_density = 'fast'" in result.stderr
    assert "asperity_height=20.0 is not allowed" in result.stderr
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["sweep", str(path), "--plot", "x"])
    assert result.exit_code == 2
    assert "expected METRIC:PARAM" in result.stderr


def test_cli_dry_run_lists_cases_and_writes_nothing(tmp_path):
    path = write_study(tmp_path)
    result = runner.invoke(app, ["sweep", str(path), "-o", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "study 'ridge_sweep': 4 cases (cartesian)" in result.stdout
    assert "case_0003_current_density=-100_asperity_height=1.5 run (pending)" in result.stdout
    assert not (tmp_path / "out").exists()
    result = runner.invoke(app, ["sweep", str(path), "-k", "3"])
    assert result.exit_code == 2
    assert "--ranks-per-case 3 must be >= 1 and divide the 1 MPI rank(s)" in result.stderr


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="starts its own mpiexec")
def test_cli_under_mpiexec_two_groups_and_failure_exit_code(tmp_path):
    study = STUDY.replace("values = [-50.0, -100.0]", "values = [-50.0]")
    study += '[[axes]]\nkey = "bulk.0.boundaries"\nvalues = [["bulk"], ["top"]]\n'
    path = write_study(tmp_path, study, CASE + '[[bulk]]\nboundaries = ["bulk"]\n')
    mpiexec = Path(sys.executable).parent / "mpiexec"
    command = [str(mpiexec), "-n", "2", sys.executable, "-m", "femli", "sweep", str(path)]
    command += ["-o", str(tmp_path / "out"), "--plot", "cv:asperity_height"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "MPI"))}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr  # two of the four cases fail
    assert "4 cases: 2 ran, 0 skipped (finished before), 2 failed; 2 group(s)" in result.stdout
    assert result.stdout.count("no boundary region named 'top'") == 2
    assert "case_0003_current_density=-50_asperity_height=1.5_boundaries=v1" in result.stdout
    assert "[group 1]" in result.stderr
    assert (tmp_path / "out" / "plots" / "cv_vs_asperity_height.png").is_file()


@pytest.mark.mpi
def test_a_group_without_cases_waits_for_the_others(mpi_tmp_path):
    study = STUDY.replace("values = [-50.0, -100.0]", "values = [-70.0]")
    study = study.replace("num = 2", "num = 1")
    result = run_study(write_study(mpi_tmp_path, study), mpi_tmp_path / "out", MPI.COMM_WORLD)
    assert [(o.action, o.group) for o in result.outcomes] == [("ran", 0)]
    assert result.groups == MPI.COMM_WORLD.size
