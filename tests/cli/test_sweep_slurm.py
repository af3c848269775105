"""Array tasks of a study (``--task-id``), ``--summarize-only`` and ``--emit-slurm`` scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mpi4py import MPI
from shared_cases import RIDGE_CASE
from typer.testing import CliRunner

from femli.cli import app
from femli.study import (
    StudyError,
    expand_study,
    parse_task_id,
    run_study,
    slurm_options,
    slurm_script,
    summarize_study,
    task_cases,
    task_count,
)

CASE = RIDGE_CASE

STUDY = """
name = "heights"
base = "case.toml"
[[axes]]
key = "geometry.asperity_height"
values = [0.5, 1.0, 1.5]
[[plot]]
metric = "hotspot_index"
param = "asperity_height"
"""

TIMES = ["mesh_time_s", "solve_time_s", "total_time_s"]  # the only columns that may differ
runner = CliRunner()


def write_study(folder: Path) -> Path:
    """Study and base case files in ``folder`` (rank 0 writes; all ranks wait)."""
    if MPI.COMM_WORLD.rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "case.toml").write_text(CASE)
        (folder / "study.toml").write_text(STUDY)
    MPI.COMM_WORLD.barrier()
    return folder / "study.toml"


def sweep(*args) -> tuple[int, str, str]:
    result = runner.invoke(app, ["sweep", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_tasks_are_blocks_of_cases_in_study_order(tmp_path):
    study = expand_study(write_study(tmp_path))
    ids = [c.case_id for c in study.cases]
    assert [task_count(3, k) for k in (1, 2, 3, 5)] == [3, 2, 1, 1]
    assert [c.case_id for c in task_cases(study, 0, 2)] == ids[:2]
    assert [c.case_id for c in task_cases(study, 1, 2)] == ids[2:]
    assert [c.case_id for c in task_cases(study, 2)] == ids[2:]
    covered = [c.case_id for t in range(3) for c in task_cases(study, t, 1)]
    assert covered == ids
    with pytest.raises(StudyError, match=r"--task-id 2: .* 3 case\(s\), 2 per task .* 0\.\.1"):
        task_cases(study, 2, 2)
    with pytest.raises(StudyError, match="--cases-per-task 0: must be a whole number >= 1"):
        task_cases(study, 0, 0)


def test_task_id_from_the_option_or_slurm():
    assert parse_task_id(" 7 ", {}) == 7
    assert parse_task_id("env", {"SLURM_ARRAY_TASK_ID": "3"}) == 3
    assert parse_task_id("AUTO", {"SLURM_ARRAY_TASK_ID": "0"}) == 0
    for text, env, words in [
        ("env", {}, r"\$SLURM_ARRAY_TASK_ID is not set"),
        ("env", {"SLURM_ARRAY_TASK_ID": "4294967294"}, None),
        ("-1", {}, "expected a task number 0, 1, 2, ... or 'env' or 'auto'"),
        ("1.5", {}, "expected a task number"),
        ("env", {"SLURM_ARRAY_TASK_ID": "x"}, r"\$SLURM_ARRAY_TASK_ID='x': expected a task"),
    ]:
        if words is None:
            assert parse_task_id(text, env) == 4294967294
            continue
        with pytest.raises(StudyError, match=words):
            parse_task_id(text, env)


def test_script_runs_this_femli_on_every_task(tmp_path):
    path = write_study(tmp_path)
    study = expand_study(path)
    options = slurm_options(
        cases_per_task=2, ranks_per_case=4, time="1-02:00:00", partition="short", mem="8G"
    )
    out = tmp_path / "out"
    text = slurm_script(study, path, out, options, ["cv:asperity_height"], out / "run.sh")
    lines = text.splitlines()
    femli = Path(sys.executable).parent / "femli"
    assert femli.is_file()
    assert lines[0] == "#!/bin/bash"
    sbatch = [x for x in lines if x.startswith("#SBATCH")]
    assert sbatch == [
        "#SBATCH --job-name=heights",
        "#SBATCH --array=0-1",
        "#SBATCH --ntasks=4",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --time=1-02:00:00",
        "#SBATCH --partition=short",
        "#SBATCH --mem=8G",
        f"#SBATCH --output={out}/slurm/%x_%A_%a.out",
    ]
    run = f"{femli} sweep {path} -o {out} --ranks-per-case 4 --cases-per-task 2"
    assert f'srun --ntasks=4 {run} --task-id "$SLURM_ARRAY_TASK_ID"' in lines
    summary = f"{femli} sweep {path} -o {out} --summarize-only --plot cv:asperity_height"
    assert f"#   {summary}" in lines
    assert f"#   jid=$(sbatch --parsable {out / 'run.sh'})" in lines
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
    one = slurm_script(study, path, out, slurm_options(cases_per_task=5, launcher="mpiexec"))
    assert "#SBATCH --array=0-0" in one and "--partition" not in one
    assert f"{Path(sys.executable).parent / 'mpiexec'} -n 1 {femli} sweep" in one


def test_bad_options_are_named_with_what_is_allowed(tmp_path):
    path = write_study(tmp_path)
    out = tmp_path / "out"
    code, _, err = sweep(path, "-o", out, "--emit-slurm", "--time", "2h", "--mem", "lots",
                         "--ranks-per-case", "0", "--launcher", "ssh")  # fmt: skip
    assert code == 2
    assert err.startswith("error: femli sweep: 4 problem(s)")
    assert "--ranks-per-case 0: must be a whole number >= 1" in err
    assert "--time '2h': expected HH:MM:SS or D-HH:MM:SS" in err
    assert "--mem 'lots': expected a size like 4G" in err
    assert "--launcher 'ssh': Input should be 'srun' or 'mpiexec'" in err
    code, _, err = sweep(path, "-o", out, "--task-id", "3")
    assert code == 2
    assert "--task-id 3: study 'heights' has 3 case(s), 1 per task" in err
    assert "allowed 0..2" in err
    code, _, err = sweep(path, "--task-id", "0", "--summarize-only", "--time", "01:00:00")
    assert code == 2
    assert "--task-id --summarize-only: give at most one of them" in err
    assert "--time: only with --emit-slurm" in err
    code, _, err = sweep(path, "-o", out, "--summarize-only")
    assert code == 2
    assert "does not exist: nothing to summarize" in err
    assert not out.exists()


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="starts its own bash and femli")
def test_array_tasks_then_summary_equal_one_sweep_and_the_script_runs(tmp_path):
    path = write_study(tmp_path)
    whole_dir = tmp_path / "whole"
    run_study(path, whole_dir)
    whole = pd.read_csv(whole_dir / "summary.csv")
    out = tmp_path / "tasks"
    code, stdout, _ = sweep(path, "-o", out, "--cases-per-task", "2", "--task-id", "1")
    assert code == 0 and "1 cases: 1 ran" in stdout and "summary not built" in stdout
    ids = list(whole["case_id"])
    written = {p.name for p in out.iterdir()} - {".femli-manifest.json"}
    assert written == {"cases.csv", ids[2]}
    code, stdout, _ = sweep(path, "-o", out, "--summarize-only")
    assert code == 0 and "3 cases in" in stdout and "1 completed, 0 failed, 2 pending" in stdout
    code, stdout, _ = sweep(path, "-o", out, "--cases-per-task", "2", "--task-id", "0")
    assert code == 0 and "2 cases: 2 ran" in stdout
    assert sweep(path, "-o", out, "--summarize-only")[0] == 0
    table = pd.read_csv(out / "summary.csv")
    pd.testing.assert_frame_equal(table.drop(columns=TIMES), whole.drop(columns=TIMES))
    parquet = [pd.read_parquet(d / "summary.parquet").drop(columns=TIMES) for d in (out, whole_dir)]
    pd.testing.assert_frame_equal(*parquet)
    assert (out / "plots" / "hotspot_index_vs_asperity_height.png").stat().st_size > 1000
    # the emitted script, with a stand-in for srun that drops its options
    code, stdout, _ = sweep(path, "-o", out, "--emit-slurm", "--cases-per-task", "2")
    assert code == 0 and "2 array task(s) for 3 case(s)" in stdout
    assert (out / "slurm").is_dir()
    (out / ids[1] / "metrics.json").unlink()
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text('#!/bin/bash\nwhile [[ $1 == --* ]]; do shift; done\nexec "$@"\n')
    (fake / "srun").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "MPI"))}
    env |= {"PATH": f"{fake}:{env['PATH']}", "SLURM_ARRAY_TASK_ID": "0"}
    script = out / "slurm_array.sh"
    done = subprocess.run([script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 cases: 1 ran, 1 skipped (finished before), 0 failed" in done.stdout
    assert sweep(path, "-o", out, "--summarize-only")[0] == 0
    again = pd.read_csv(out / "summary.csv")
    pd.testing.assert_frame_equal(again.drop(columns=TIMES), whole.drop(columns=TIMES))


@pytest.mark.mpi
def test_one_task_on_all_ranks_then_a_collective_summary(mpi_tmp_path):
    comm = MPI.COMM_WORLD
    study = expand_study(write_study(mpi_tmp_path))
    out = mpi_tmp_path / "out"
    mine = task_cases(study, 1, 2)
    result = run_study(study, out, comm, comm.size, cases=mine, summarize=False)
    assert [(o.case_id, o.action) for o in result.outcomes] == [(study.cases[2].case_id, "ran")]
    assert result.table is None and not result.summarized
    assert not (out / "summary.csv").exists()
    table, plots = summarize_study(study, out, comm)
    if comm.rank == 0:
        assert list(table["status"]) == ["pending", "pending", "completed"]
        assert table["mpi_size"].iloc[2] == comm.size
        assert [p.name for p in plots] == ["hotspot_index_vs_asperity_height.png"]
    else:
        assert table is None and plots == ()


def test_a_script_that_cannot_be_written_is_one_message_and_exit_2(tmp_path):
    path = write_study(tmp_path)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    code, _, err = sweep(path, "-o", tmp_path / "out", "--emit-slurm", "--script", blocker / "s.sh")
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err
