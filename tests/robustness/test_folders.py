"""Output folders: femli deletes only what it wrote, case names are plain folder names,
one run per folder (a lock naming its holder), and a full disk ends a run with exit 2
and one line, leaving no partial fields and no metrics.json."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from folder_checks import check_completed
from mpi4py import MPI
from shared_cases import GROWTH, TINY
from typer.testing import CliRunner

from femli.case.checks import parse_case
from femli.cli import app
from femli.messages import ConfigError
from femli.pipeline import run_case

runner = CliRunner()
serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: one process per run")


def case_file(folder: Path, data: dict | None = None, **output) -> Path:
    data = copy.deepcopy(data or TINY)
    data["output"] = {**data.get("output", {}), **output}
    path = folder / f"{data['name']}.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def femli(*args) -> tuple[int, str]:
    result = runner.invoke(app, ["-q", *map(str, args)])
    return result.exit_code, result.output


def user_files(folder: Path) -> dict[Path, str]:
    """A user's own files in ``folder``, named like femli's temporary files and checkpoint."""
    files = {
        folder / ".draft.tmp": "draft",
        folder / "sub" / ".cache.tmp": "cache",
        folder / "checkpoint" / "state.json": '{"mine": true}',
        folder / "checkpoint" / "notes.txt": "notes",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


# -- femli deletes only what it wrote -----------------------------------------------------
@serial
def test_a_run_into_a_users_folder_keeps_the_users_files(tmp_path):
    out = tmp_path / "mine"
    files = user_files(out)
    path = case_file(tmp_path, fields=True)
    for _ in range(2):  # a fresh run, then a run over the first one's results
        code, text = femli("run", path, "-o", out)
        assert code == 0, text
        assert {p: p.read_text() for p in files} == files
    assert json.loads((out / "metrics.json").read_text())["status"] == "completed"
    assert (out / "fields" / "solution.vtu").is_file()
    hidden = {p.relative_to(out).as_posix() for p in out.rglob(".*")}
    assert hidden == {".draft.tmp", "sub/.cache.tmp", ".femli.lock", ".femli-manifest.json"}
    # --restart refuses a checkpoint femli did not write instead of reading it
    code, text = femli("run", path, "-o", out, "--restart")
    assert code == 2 and "checkpoint" in text and "not written by femli" in text, text
    assert {p: p.read_text() for p in files} == files


@serial
def test_femli_refuses_to_replace_a_results_name_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    (out / "fields").mkdir(parents=True)
    (out / "fields" / "my.vtu").write_text("mine")
    (out / "metrics.json").write_text("{}")
    code, text = femli("run", case_file(tmp_path), "-o", out)
    assert code == 2 and "fields, metrics.json" in text and "not written by femli" in text, text
    assert "Traceback" not in text and text.count("error:") == 1
    assert (out / "fields" / "my.vtu").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == [".femli.lock", "fields", "metrics.json"]


@serial
def test_results_of_a_femli_before_manifests_are_adopted(tmp_path):
    """A folder an earlier femli wrote (its provenance.json, no manifest) is re-run into:
    its results are femli's; a user's file beside them still stays."""
    out = tmp_path / "old"
    (out / "fields").mkdir(parents=True)
    (out / "fields" / "solution.xdmf").write_text("old")
    (out / "metrics.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    keys = {"femli": "0.1.0", "software": {}, "config_sha256": "0" * 64, "exit_status": "x"}
    (out / "provenance.json").write_text(json.dumps(keys))
    code, text = femli("run", case_file(tmp_path, fields=True), "-o", out)
    assert code == 0, text
    assert json.loads((out / "metrics.json").read_text())["status"] == "completed"
    assert (out / "notes.txt").read_text() == "mine"
    written = json.loads((out / ".femli-manifest.json").read_text())["written"]
    assert "notes.txt" not in written and "metrics.json" in written


# -- case names -----------------------------------------------------------------------------
BAD_NAMES = ["../../x", "/", "/tmp/elsewhere", "a/b", "..", ".", "", "  ", ".hidden", "a\\b"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_case_name_that_is_not_a_plain_folder_name_is_refused(name):
    with pytest.raises(ConfigError) as err:
        parse_case({**TINY, "name": name})
    (problem,) = err.value.problems
    assert problem.startswith(f"name = {name!r}: must be a plain folder name"), problem


@serial
def test_check_and_run_refuse_a_name_that_leaves_results(tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for name in ("/", "../../x", str(tmp_path / "abs")):
        path = case_file(work, {**TINY, "name": "case"})
        path.write_text(path.read_text().replace('name = "case"', f"name = {json.dumps(name)}"))
        for command in (["check", path], ["run", path]):
            code, text = femli(*command)
            assert code == 2 and "name = " in text and "plain folder name" in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # nothing outside
    assert not (work / "results").exists()
    assert parse_case({**TINY, "name": "seed000_bare-li.v2+x"}).name == "seed000_bare-li.v2+x"


# -- one run per folder -----------------------------------------------------------------------
HOLD = textwrap.dedent(
    """
    import sys, time
    from femli.outputs.folder import acquire
    acquire(sys.argv[1], "holder-case")
    print("locked", flush=True)
    time.sleep(600)
    """
)


def holder(folder: Path) -> subprocess.Popen:
    """Another process holding the lock of ``folder`` (as a run does)."""
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "locked"
    return process


@serial
def test_a_second_run_into_a_folder_in_use_exits_2_naming_the_folder_and_holder(tmp_path):
    out = tmp_path / "busy"
    process = holder(out)
    try:
        code, text = femli("run", case_file(tmp_path), "-o", out)
    finally:
        process.kill()
        process.wait()
    assert code == 2, text
    assert f"output folder {out} is in use" in text and "holder-case" in text, text
    assert f"pid {process.pid}" in text and text.count("error:") == 1
    assert sorted(p.name for p in out.iterdir()) == [".femli.lock"]  # nothing touched


@serial
def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path):
    out = tmp_path / "out"
    process = holder(out)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert json.loads((out / ".femli.lock").read_text())["pid"] == process.pid
    config = parse_case(TINY)
    run_case(config, out, MPI.COMM_SELF)
    check_completed(out, config.digest())
    record = json.loads((out / ".femli.lock").read_text())
    assert record["pid"] == os.getpid() and record["case"] == "tiny"


@pytest.mark.mpi
def test_a_run_into_a_locked_folder_stops_on_every_rank(mpi_tmp_path):
    from femli.outputs.folder import FolderBusyError, acquire, release

    comm = MPI.COMM_WORLD
    out = mpi_tmp_path / "busy"
    fd = None
    if comm.rank == 0:
        out.mkdir()
        fd = acquire(out, "holder-case")  # another open lock: as another run's
    comm.barrier()
    try:
        with pytest.raises(FolderBusyError, match="holder-case"):
            run_case(parse_case(TINY), out, comm)
    finally:
        release(fd)
    comm.barrier()
    if comm.rank == 0:
        assert sorted(p.name for p in out.iterdir()) == [".femli.lock"]
    run_case(parse_case(TINY), out, comm)  # free again
    comm.barrier()
    if comm.rank == 0:
        check_completed(out)


# -- full disk ------------------------------------------------------------------------------
def disk_with(monkeypatch, free: int) -> None:
    """Report ``free`` bytes free on every disk."""
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=free))


def assert_no_space(code: int, text: str, out: Path) -> None:
    assert code == 2, text
    assert text.startswith(f"error: not enough free space in {out}"), text
    assert text.count("\n") == 1 and "Traceback" not in text
    assert not (out / "metrics.json").exists()
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith((".tmp", ".old", ".tmp.png"))]
    assert leftovers == []
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and "NoSpaceError" in status["error"]


@serial
@pytest.mark.parametrize("fields", [True, False])
def test_a_full_disk_ends_a_run_with_exit_2_and_no_partial_results(tmp_path, monkeypatch, fields):
    out = tmp_path / "out"
    path = case_file(tmp_path, fields=fields, renders=False)
    disk_with(monkeypatch, 10**6)
    code, text = femli("run", path, "-o", out)
    assert_no_space(code, text, out)
    assert ("fields need about" in text) == fields
    assert not (out / "fields").exists()


@serial
def test_a_checkpoint_on_a_full_disk_ends_the_run_with_exit_2(tmp_path, monkeypatch):
    data = tomllib.loads(GROWTH)
    path = case_file(tmp_path, data, fields=False, renders=False, checkpoint_interval=1)
    disk_with(monkeypatch, 10**6)
    out = tmp_path / "out"
    code, text = femli("run", path, "-o", out)
    assert_no_space(code, text, out)
    assert "a checkpoint need" in text and not (out / "checkpoint").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (root only; skipped where it cannot be mounted)."""
    folder = tmp_path / "small"
    folder.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)]
    if os.geteuid() != 0 or subprocess.run(command, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@serial
def test_a_real_full_disk(small_disk, tmp_path, monkeypatch):
    import pyvista

    from femli.outputs import files
    from femli.outputs.folder import tracking
    from femli.outputs.pictures import plot_surface_current
    from femli.outputs.vtkfiles import write_dataset

    out = small_disk / "out"
    code, text = femli("run", case_file(tmp_path, fields=True), "-o", out)
    assert_no_space(code, text, out)  # refused before the solve: no room for the fields
    with tracking(out) as manifest:
        manifest.claim(out / "picture.png")  # recorded while there is room
        manifest.claim(out / "solution.vtu")
        filler = small_disk / "filler"
        with open(filler, "wb") as fh, pytest.raises(OSError):
            while True:
                fh.write(b"\0" * 65536)
        before = sorted(p.name for p in out.iterdir())
        with pytest.raises(files.NoSpaceError, match=re.escape(f"space in {out}: wri")):
            files.atomic_write_bytes(out / "metrics.json", b"{" * 100_000)
        x = np.linspace(0.0, 1.0, 50)
        with pytest.raises(files.NoSpaceError, match=re.escape("writing picture.png failed")):
            plot_surface_current(x[:, None], x, out / "picture.png", dim=2)
        grid = pyvista.ImageData(dimensions=(40, 40, 40)).cast_to_unstructured_grid()
        grid.point_data["noise"] = np.random.default_rng(0).random(grid.n_points)
        with pytest.raises(files.NoSpaceError, match=re.escape("writing solution.vtu failed")):
            write_dataset(grid, out / "solution.vtu")  # VTK's own writer, not Python's
    assert sorted(p.name for p in out.iterdir()) == before  # no temporary files left
    filler.unlink()
    monkeypatch.setattr(files, "RESERVE", 0)
    code, text = femli("run", case_file(tmp_path, fields=False, renders=False), "-o", out)
    assert code == 0, text  # the same folder works once there is room


def test_folder_errors_are_exit_code_2():
    from femli.cli import classify
    from femli.outputs.disk import FolderError
    from femli.outputs.folder import FolderBusyError

    for err in (FolderError("x"), FolderBusyError("y")):
        assert classify(err) == (2, str(err))


@serial
def test_a_sweep_keeps_the_users_files_and_refuses_a_bad_study_name(tmp_path):
    from shared_cases import RIDGE_CASE

    (tmp_path / "case.toml").write_text(RIDGE_CASE)
    study = 'base = "case.toml"\n[[axes]]\nkey = "electrodes.0.current_density"\n'
    (tmp_path / "study.toml").write_text(study + "values = [-50.0]\n")
    out = tmp_path / "out"
    files = {out / ".draft.tmp": "draft", out / "sub" / ".cache.tmp": "cache"}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for ran in ("1 ran", "0 ran, 1 skipped"):  # a second sweep skips the finished case
        code, text = femli("sweep", tmp_path / "study.toml", "-o", out)
        assert code == 0 and f"1 cases: {ran}" in text, text
        assert {p: p.read_text() for p in files} == files
    (tmp_path / "bad.toml").write_text('name = "../x"\n' + study + "values = [-50.0]\n")
    code, text = femli("sweep", tmp_path / "bad.toml", "--dry-run")
    assert code == 2 and "name = '../x': must be a plain folder name" in text, text
