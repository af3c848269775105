"""Bad input: every problem is one clear message and exit code 2, before any mesh or
solve, in-process, from the command line and under mpiexec; mutated cases (hypothesis)
either run or fail cleanly."""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import gmsh
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mpi4py import MPI
from shared_cases import TINY

from femli.case.checks import parse_case
from femli.case.preflight import case_problems
from femli.cli import classify
from femli.geometry import BUILDERS, build, gmsh_session
from femli.messages import ConfigError
from femli.pipeline import run_case

serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: runs its own processes")


def mutated(change) -> dict:
    data = copy.deepcopy(TINY)
    change(data)
    return data


def problems(data: dict, tmp_path: Path, read_mesh: bool = False) -> list[str]:
    """Schema problems, else the pre-flight problems (no mesh is built)."""
    try:
        config = parse_case(data)
    except ConfigError as err:
        return err.problems
    return case_problems(config, tmp_path, tmp_path / "out", read_mesh)


def test_region_names_are_checked_before_meshing(tmp_path):
    swap = mutated(lambda d: d["bulk"][0].update(boundaries=["electrode"]))
    found = problems(swap, tmp_path)
    assert found == [
        "electrodes[0].kinetics, bulk[0].boundaries: boundaries named by more than one "
        "condition: ['electrode']; a boundary takes one condition"
    ]

    typo = mutated(lambda d: d["bulk"][0].update(boundaries=["blk"]))
    (message,) = problems(typo, tmp_path)
    assert "bulk[0].boundaries: the geometry has no boundary region named 'blk'" in message
    assert "Did you mean 'bulk'?" in message

    region = mutated(lambda d: d["electrolyte"].update(regions=[{"region": "coating"}]))
    (message,) = problems(region, tmp_path)
    assert "no cell region named 'coating'" in message

    front = mutated(lambda d: d["bulk"][0].update(boundaries=["wall_front"]))
    assert "no boundary region named 'wall_front'" in problems(front, tmp_path)[0]
    front["geometry"]["dim"] = 3  # the 3D box has front and back walls
    assert problems(front, tmp_path) == []


def test_geometry_parameters_types_sizes_and_nuclei_that_cannot_fit(tmp_path):
    nuclei = mutated(
        lambda d: d.update(
            geometry={"kind": "nucleus_array", "dim": 2, "count": 40, "diameter": 0.55}
        )
    )
    nuclei["electrodes"][0]["kinetics"] = {"nuclei": {"exchange_current": 30.0}}
    (message,) = problems(nuclei, tmp_path)
    assert message.startswith("geometry: ") and "count" in message

    typed = mutated(lambda d: d["geometry"].update(width="ten", count=1.5))
    assert problems(typed, tmp_path) == [
        "geometry.width = 'ten': expected a number",
        "geometry.count = 1.5: expected an integer",
    ]
    attribute = mutated(lambda d: d["geometry"].update(REGION_NAMES=True))
    (message,) = problems(attribute, tmp_path)  # the builder's declaration, not a parameter
    assert "unknown parameter(s) for kind 'box': 'REGION_NAMES'" in message
    huge = mutated(lambda d: d["geometry"].update(width=1e12))
    assert "cells (limit 1e+08)" in problems(huge, tmp_path)[0]
    preset = mutated(lambda d: d.update(geometry={"preset": "seed000_ridj"}))
    assert "did you mean 'seed000_ridge'" in problems(preset, tmp_path)[0]


def test_mesh_files_and_output_folders(tmp_path):
    missing = mutated(lambda d: d.update(geometry={"mesh": "nowhere.msh"}))
    assert "mesh file" in problems(missing, tmp_path)[0]
    (tmp_path / "bad.msh").write_text("$MeshFormat\n4.1 0 8\ngarbage\n")
    bad = mutated(lambda d: d.update(geometry={"mesh": "bad.msh"}))
    assert problems(bad, tmp_path) == []  # run: read (and reported) when the mesh is made
    assert "geometry.mesh: " in problems(bad, tmp_path, read_mesh=True)[0]
    (tmp_path / "a_file").write_text("")
    config = parse_case(TINY)
    (message,) = case_problems(config, tmp_path, tmp_path / "a_file" / "out")
    assert "is not writable" in message
    (message,) = case_problems(config, tmp_path, tmp_path / "a_file")
    assert "is not a folder" in message


def test_region_names_declared_by_the_builders_match_what_they_make():
    """Each builder's parameters declare every name the build makes (coarse 2D builds,
    3D box, the void contact's regions and interlayer, the layered stack's modes), and
    the builder's declaration of every name it may create holds them."""
    cases = [(kind, {"dim": 2}) for kind in BUILDERS if kind != "interval"]
    cases += [("box", {"dim": 3, "h_far": 5.0}), ("interval", {"dim": 1})]  # interval: 1D only
    cases[list(BUILDERS).index("nucleus_array")][1]["count"] = 2
    cases += [
        ("void_contact", {"dim": 2, "h_far": 2.0, "region": region, "interlayer_thickness": t})
        for region in ("metal", "electrolyte")
        for t in (0.0, 0.5)
    ]
    cases += [("layered_stack", {"dim": 2, "porous_thickness": 0.0, "top_thickness": 0.0})]
    with gmsh_session():
        for kind, params in cases:
            built = build(kind, **params)
            names = built.params.region_names()
            assert set(built.cell_groups) == set(names.cells), (kind, params)
            assert set(built.facet_groups) == set(names.facets), (kind, params)
            every = type(built.params).REGION_NAMES
            assert set(names.cells) <= set(every.cells), kind
            assert set(names.facets) <= set(every.facets), kind
            gmsh.clear()


def test_region_names_the_parameters_cannot_make_are_caught_before_meshing(tmp_path):
    """A name the builder makes only with other parameters (3D walls in 2D, the Li side
    of a contact meshed without it) is refused with the names these parameters make; with
    parameters that have problems, every name of the builder in the case's dimension."""
    voids = mutated(lambda d: d.update(geometry={"kind": "void_contact", "region": "electrolyte"}))
    voids["electrodes"][0]["kinetics"] = {"contact": {"exchange_current": 30.0}}
    assert problems(voids, tmp_path) == []
    voids["bulk"][0]["boundaries"] = ["collector"]
    (message,) = problems(voids, tmp_path)
    assert message.startswith("bulk[0].boundaries: the geometry has no boundary region named")
    assert "'collector'; it can have ['bulk', 'contact', 'void', 'wall_left'," in message
    voids["geometry"]["seed"] = -1  # parameters with a problem: every name of the builder
    found = problems(voids, tmp_path)
    assert len(found) == 1 and "seed=-1" in found[0], found
    voids["bulk"][0]["boundaries"] = ["wall_front"]  # 2D: still no front wall
    assert "no boundary region named 'wall_front'" in problems(voids, tmp_path)[1]


# -- the command line ---------------------------------------------------------------------
#: ``python -m femli`` that also writes its rank's exit code to ``exit_<rank>`` (cwd).
RECORD_EXIT = """
import os, runpy, sys
code = 1
try:
    sys.argv = ["femli", *sys.argv[1:]]
    runpy.run_module("femli", run_name="__main__")
    code = 0
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else 1
finally:
    with open(f"exit_{os.environ.get('PMI_RANK', '0')}", "w") as fh:
        fh.write(str(code))
sys.exit(code)
"""


def femli(*args: str, cwd: Path, mpi: int = 0) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", RECORD_EXIT, *args]
    env = None
    if mpi:
        command = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(mpi), *command]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "MPI"))}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def write_case(folder: Path, data: dict, name: str = "case.toml") -> Path:
    path = folder / name
    path.write_text(tomli_w.dumps(data))
    return path


def assert_clean_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """Exit ``code``, no traceback, one ``error:`` message and no mesh or solve started."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("error: ") == 1, result.stderr
    assert not re.search(r"\d\d:\d\d:\d\d (mesh|solved): ", result.stderr), result.stderr
    return result.stderr


@serial
def test_cli_check_and_run_report_bad_input_with_exit_2(tmp_path):
    nuclei = mutated(lambda d: d.update(geometry={"kind": "nucleus_array", "count": 400}))
    stderr = assert_clean_error(femli("check", str(write_case(tmp_path, nuclei)), cwd=tmp_path))
    assert "problem(s)" in stderr and "count" in stderr
    typo = mutated(lambda d: d["electrodes"][0].update(curent_density=1.0))
    stderr = assert_clean_error(femli("check", str(write_case(tmp_path, typo)), cwd=tmp_path))
    assert "Did you mean 'current_density'?" in stderr
    (tmp_path / "bad.msh").write_text("not a mesh\n")
    mesh = mutated(lambda d: d.update(geometry={"mesh": "bad.msh"}))
    path = write_case(tmp_path, mesh)
    assert "cannot read mesh file" in assert_clean_error(femli("check", str(path), cwd=tmp_path))
    stderr = assert_clean_error(femli("run", str(path), "-o", "out", cwd=tmp_path))
    assert "cannot read mesh file" in stderr
    (tmp_path / "file").write_text("")
    good = write_case(tmp_path, TINY, "good.toml")
    stderr = assert_clean_error(femli("run", str(good), "-o", "file/out", cwd=tmp_path))
    assert "not writable" in stderr


@serial
def test_cli_under_mpiexec_one_message_and_every_rank_exits(tmp_path):
    bad = mutated(lambda d: d["bulk"][0].update(boundaries=["top"]))
    result = femli("run", str(write_case(tmp_path, bad)), "-o", "out", cwd=tmp_path, mpi=2)
    stderr = assert_clean_error(result)
    assert "no boundary region named 'top'" in stderr
    assert not (tmp_path / "out" / "metrics.json").exists()
    codes = {p.name: p.read_text() for p in tmp_path.glob("exit_*")}
    assert codes == {"exit_0": "2", "exit_1": "2"}  # every rank exits 2 by itself


# -- mutated cases (hypothesis) -----------------------------------------------------------
def _paths(data, prefix=()) -> list[tuple]:
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, dict | list):
            out += _paths(value, (*prefix, key))
    return out


PATHS = _paths(TINY)
BAD_VALUES = ["abc", -1.0, 0, 1e30, 1e-30, float("nan"), [1], {"x": 1}, True, -7]
NAMES = ["bulk", "electrode", "wall_left", "top", "electrod", ""]


def _apply(data: dict, kind: str, path: tuple, value) -> dict:
    data = copy.deepcopy(data)
    *head, last = path
    parent = data
    for key in head:
        parent = parent[key]
    if kind == "delete":
        del parent[last]
    elif kind == "unknown" and isinstance(parent, dict):
        parent[f"{last}_x"] = value
    elif kind == "rename" and value in NAMES:  # boundary names: swapped, misspelt, others
        kinetics = data["electrodes"][0]["kinetics"]
        kinetics[value] = kinetics.pop(next(iter(kinetics)))
        data["bulk"][0]["boundaries"] = [NAMES[(NAMES.index(value) + 1) % len(NAMES)]]
    elif kind == "value":
        parent[last] = value
    return data


mutation = st.tuples(
    st.sampled_from(["value", "value", "delete", "unknown", "rename"]),
    st.sampled_from(PATHS),
    st.one_of(st.sampled_from(BAD_VALUES), st.sampled_from(NAMES)),
)


@contextmanager
def time_limit(seconds: int):
    """Fail (never hang) when the block runs longer than ``seconds``."""

    def stop(signum, frame):
        raise TimeoutError(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(data: dict, output: Path) -> int:
    """Exit code of ``femli run`` on ``data``, mapped like the CLI; a bug raises."""
    try:
        run_case(parse_case(data), output, MPI.COMM_WORLD)
    except (Exception, KeyboardInterrupt) as err:
        known = classify(err)
        if known is None:
            raise
        return known[0]
    return 0


@serial
@settings(
    max_examples=45,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(changes=st.lists(mutation, min_size=1, max_size=2))
def test_mutated_cases_run_or_fail_cleanly(changes):
    data = TINY
    for kind, path, value in changes:
        try:
            data = _apply(data, kind, path, value)
        except (KeyError, IndexError, TypeError, StopIteration):
            continue  # the path vanished with an earlier mutation
    with tempfile.TemporaryDirectory() as folder, time_limit(60):
        code = outcome(data, Path(folder) / "out")
        assert code in (0, 2, 3)
        if code == 0:
            assert (Path(folder) / "out" / "metrics.json").is_file()


@serial
@pytest.mark.parametrize(
    "change",
    [
        ("value", ("electrodes", 0, "kinetics", "electrode", "alpha_a"), -1.0),
        ("delete", ("electrodes", 0, "kinetics"), None),
        ("value", ("electrolyte", "model"), "quaternary"),
        ("rename", ("bulk",), "top"),
        ("value", ("geometry", "h_far"), "abc"),
    ],
)
def test_mutated_cases_from_the_command_line(tmp_path, change):
    data = _apply(TINY, *change)
    result = femli("run", str(write_case(tmp_path, data)), "-o", "out", cwd=tmp_path)
    assert_clean_error(result)
