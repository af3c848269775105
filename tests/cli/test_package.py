"""femli as an installed package: a wheel built from the checkout and installed outside
it runs the demo and finds its presets (package data, not files of the checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mpi4py import MPI

from femli.demo import BUILT_IN, CASES, COMPARISONS

ROOT = Path(__file__).resolve().parents[2]

serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: builds and runs a wheel")


def build_wheel(tmp: Path) -> Path:
    """``pip wheel . --no-deps`` of a copy of the package's sources (the build leaves
    nothing in the checkout); returns the wheel."""
    source = tmp / "source"
    shutil.copytree(ROOT / "femli", source / "femli", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    wheels = tmp / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    command = [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = wheels.glob("femli-*.whl")
    return wheel


@serial
def test_an_installed_wheel_runs_the_demo_outside_the_checkout(tmp_path):
    wheel = build_wheel(tmp_path)
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    command = [*pip, "install", "--no-deps", "--target", str(target), str(wheel)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    work = tmp_path / "work"  # neither the checkout nor the target
    work.mkdir()
    env = os.environ | {"PYTHONPATH": str(target)}

    def python(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=work, env=env
        )

    where = python("-c", "import femli.geometry as g; print(g.__file__); print(g.PRESET_DIR)")
    assert where.returncode == 0, where.stderr[-3000:]
    module, presets = (Path(line) for line in where.stdout.split())
    assert module.is_relative_to(target), module  # the wheel's femli, not the checkout's
    assert presets.is_relative_to(target) and any(presets.glob("*.toml")), presets
    sets = python("-c", "from femli.physics.properties import list_sets; print(*list_sets())")
    assert "lipf6_valoen_reimers_2005" in sets.stdout.split(), sets.stderr[-3000:]  # package data
    demo = python("-m", "femli", "demo", "--quick", "-o", "out")
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert (work / "out" / "rough_li" / "metrics.json").is_file()
    schema = python("-m", "femli", "schema", "--metrics")  # package data too
    assert schema.returncode == 0 and '"metrics_version"' in schema.stdout, schema.stderr
    installed = target / "femli" / CASES.name
    for _, *cases in COMPARISONS:  # the seed cases, whose geometries are presets
        for case in cases:
            check = python("-m", "femli", "check", str(installed / case))
            assert check.returncode == 0, check.stderr[-3000:]


def test_the_demo_runs_the_examples_reduced_seed_cases():
    """The demo's packaged seed cases are the examples' ``*_reduced.toml`` (one content,
    two places: an installed femli has no ``examples/``)."""
    for _, *cases in COMPARISONS:
        for case in cases:
            packaged, example = CASES / case, ROOT / "examples" / case
            assert packaged.read_bytes() == example.read_bytes(), (
                f"{packaged} differs from {example}: copy the example over it"
            )
    assert BUILT_IN.is_file()
