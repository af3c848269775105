"""SIGKILL at random moments: a growth run (``femli run``, then ``--restart``) and a sweep
(``femli sweep``, then again) complete with nothing lost and every output file valid."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w
from folder_checks import (
    check_after_kill,
    check_completed,
    check_csv,
    check_folder,
    series_times,
)
from mpi4py import MPI
from shared_cases import GROWTH, TINY

pytestmark = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: kills its processes")

SEEDS = (1, 2, 3)


def femli(*args: str, cwd: Path, mpi: list[str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "femli", "-q", *args]
    env = None
    if mpi:
        command = [str(Path(sys.executable).parent / "mpiexec"), *mpi, *command]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "MPI"))}
    return subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(*args: str, cwd: Path) -> float:
    """Run to the end (exit 0); returns the wall time."""
    clock = time.perf_counter()
    process = femli(*args, cwd=cwd)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    return time.perf_counter() - clock


def kill_at(seconds: float, *args: str, cwd: Path) -> bool:
    """Start femli and SIGKILL it after ``seconds``; False if it had finished already."""
    process = femli(*args, cwd=cwd)
    try:
        process.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return True


def test_killed_growth_run_restarts_and_loses_nothing(tmp_path):
    """Killed, restarted and killed again (SEEDS times), then restarted to the end."""
    data = tomllib.loads(GROWTH)
    data["output"] = {"renders": False, "fields": True, "checkpoint_interval": 1}
    (tmp_path / "grow.toml").write_text(tomli_w.dumps(data))
    seconds = finish("run", "grow.toml", "-o", "reference", cwd=tmp_path)
    reference = check_completed(tmp_path / "reference")
    rows = check_csv(tmp_path / "reference" / "growth_series.csv")
    out = tmp_path / "killed"
    for seed in SEEDS:
        moment = random.Random(seed).uniform(0.3, 1.0) * seconds
        kill_at(moment, "run", "grow.toml", "-o", out.name, "--restart", cwd=tmp_path)
        check_after_kill(out)
    finish("run", "grow.toml", "-o", out.name, "--restart", cwd=tmp_path)
    metrics = check_completed(out, reference["config_sha256"])
    assert metrics["growth"]["steps"] == reference["growth"]["steps"]
    for key in ("t_s", "deposited_volume_m3", "max_height_m", "charge_C"):
        assert metrics["growth"][key] == pytest.approx(reference["growth"][key], rel=1e-8)
    assert len(check_csv(out / "growth_series.csv")) == len(rows)
    # the field series: the reference's frames (times), numbered without gaps
    times = series_times(tmp_path / "reference")
    assert series_times(out) == pytest.approx(times, rel=1e-8)
    frames = sorted(p.name for p in (out / "series").glob("solution_*.vtu"))
    assert frames == [f"solution_{k:04d}.vtu" for k in range(len(times))]


STUDY = """
name = "killed_sweep"
base = "case.toml"
[[axes]]
key = "electrodes.0.current_density"
values = [-20.0, -40.0, -60.0, -80.0]
[[plot]]
metric = "hotspot_index"
param = "current_density"
"""


def test_killed_sweep_resumes_and_loses_nothing(tmp_path):
    """Killed and re-run SEEDS times, then run to the end: finished cases are never redone."""
    (tmp_path / "case.toml").write_text(tomli_w.dumps(TINY))
    (tmp_path / "study.toml").write_text(STUDY)
    seconds = finish("sweep", "study.toml", "-o", "reference", cwd=tmp_path)
    out, done = tmp_path / "killed", {}
    for seed in SEEDS:
        moment = random.Random(seed).uniform(0.3, 1.0) * seconds
        kill_at(moment, "sweep", "study.toml", "-o", out.name, cwd=tmp_path)
        check_after_kill(out)
        for path in out.glob("*/metrics.json"):
            if json.loads(path.read_text()).get("status") == "completed":
                done.setdefault(path.parent.name, path.stat().st_mtime_ns)
    finish("sweep", "study.toml", "-o", out.name, cwd=tmp_path)
    check_folder(out)
    summary = check_csv(out / "summary.csv")
    assert [r["status"] for r in summary] == ["completed"] * 4
    for row in summary:
        check_completed(out / row["case_id"], row["config_sha256"])
    for case, stamp in done.items():  # finished before a kill: kept, not redone
        assert (out / case / "metrics.json").stat().st_mtime_ns == stamp
    assert (out / "plots" / "hotspot_index_vs_current_density.png").is_file()


def rank_processes(process: subprocess.Popen, ranks: int) -> list[int]:
    """The PIDs of the femli processes: the process itself, or mpiexec's grandchildren."""
    if ranks == 1:
        return [process.pid]
    found: list[int] = []
    for _ in range(100):
        proxies = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
        for proxy in proxies.stdout.split():
            kids = subprocess.run(["pgrep", "-P", proxy], capture_output=True, text=True)
            found += [int(k) for k in kids.stdout.split()]
        if len(found) == ranks:
            return found
        found = []
        time.sleep(0.05)
    raise AssertionError("no rank processes found")


@pytest.mark.parametrize("ranks", [1, 2])
def test_sigterm_stops_every_rank_at_a_step_and_restarts(tmp_path, ranks):
    """A scheduler's SIGTERM, here to the last rank only: every rank stops at the next
    step, one message, exit 130, status "interrupted"; then --restart finishes."""
    data = tomllib.loads(GROWTH)
    data["output"] = {"renders": False, "fields": False, "checkpoint_interval": 1}
    (tmp_path / "grow.toml").write_text(tomli_w.dumps(data))
    mpi = ["-n", str(ranks)] if ranks > 1 else []
    process = femli("run", "grow.toml", "-o", "out", cwd=tmp_path, mpi=mpi)
    state = tmp_path / "out" / "checkpoint" / "state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        os.kill(rank_processes(process, ranks)[-1], signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert process.returncode == 130, stderr
    assert stderr.count("error: interrupted") == 1 and "Traceback" not in stderr
    status = json.loads((tmp_path / "out" / "status.json").read_text())
    assert status["status"] == "interrupted" and "SIGTERM" in status["error"]
    finish("run", "grow.toml", "-o", "out", "--restart", cwd=tmp_path)
    record = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert record["exit_status"] == "completed" and record["restarted_from_t"] > 0
    check_completed(tmp_path / "out")
