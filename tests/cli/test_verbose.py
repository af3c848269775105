"""What a run prints: a readable ``solved:`` line, solver details and per-step lines with
``femli -v``, a spinner while meshing and solving (rank 0, INFO)."""

from __future__ import annotations

import copy
import logging
import re
import subprocess
import sys

import pytest
import tomli_w
from mpi4py import MPI
from shared_cases import TINY

from femli.case.checks import parse_case
from femli.outputs import progress
from femli.pipeline import run_case

serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: command line")


def femli(tmp_path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "femli", *args], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


@serial
def test_verbose_shows_solver_details_and_the_solved_line_is_readable(tmp_path):
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(TINY))
    plain = femli(tmp_path, "run", "tiny.toml", "-o", "plain")
    verbose = femli(tmp_path, "-v", "run", "tiny.toml", "-o", "verbose")
    solved = re.search(r"solved: .*", plain)
    assert solved is not None and "{" not in solved.group(0)  # was a raw Python dict
    assert re.fullmatch(
        r"solved: \d+ unknowns, \d+ Newton iterations in \d+ solve\(s\) "
        r"\(\d+ linear iterations, direct solver\), \d+\.\d\d s",
        solved.group(0),
    )
    extra = ("Newton iterations per solve: ", "solver time: set-up", "recoveries: ", "stages: mesh")
    for words in extra:
        assert words not in plain
        assert words in verbose, words
    per_solve = re.search(r"Newton iterations per solve: ([\d, ]+)", verbose)
    assert per_solve is not None
    counts = [int(n) for n in per_solve.group(1).split(", ")]
    total = re.search(r"solved: \d+ unknowns, (\d+) Newton", verbose)
    assert total is not None and sum(counts) == int(total.group(1))


@serial
def test_verbose_logs_each_time_step(tmp_path):
    data = copy.deepcopy(TINY) | {"time": {"t_end": 0.01}}
    (tmp_path / "transient.toml").write_text(tomli_w.dumps(data))
    plain = femli(tmp_path, "run", "transient.toml", "-o", "plain")
    verbose = femli(tmp_path, "-v", "run", "transient.toml", "-o", "verbose")
    steps = re.findall(r"step (\d+): t = \S+ s, dt = \S+ s, \d+ Newton iterations", verbose)
    assert steps and steps == [str(k) for k in range(1, len(steps) + 1)]
    assert "step 1:" not in plain


@pytest.mark.mpi
def test_a_spinner_shows_while_meshing_and_solving(tmp_path, monkeypatch):
    """The stages a stationary run spends in without other output show a spinner (a
    stepping run has its progress bar while solving); none when quiet."""
    shown: list[str] = []

    class Console:
        def __init__(self, **kwargs) -> None:
            pass

        def status(self, text: str):
            shown.append(text)
            return open(__file__)  # any context manager

    monkeypatch.setattr(progress, "Console", Console)
    femli_log = logging.getLogger("femli")
    monkeypatch.setattr(femli_log, "level", logging.INFO)
    run_case(parse_case(copy.deepcopy(TINY)), tmp_path / "stationary")
    data = copy.deepcopy(TINY) | {"time": {"t_end": 0.001}}
    run_case(parse_case(data), tmp_path / "transient")
    rank0 = MPI.COMM_WORLD.rank == 0
    assert shown == (["meshing ...", "solving ...", "meshing ..."] if rank0 else [])
    monkeypatch.setattr(femli_log, "level", logging.WARNING)  # femli -q
    run_case(parse_case(copy.deepcopy(TINY)), tmp_path / "quiet")
    assert len(shown) == (3 if rank0 else 0)
