"""Seed 003 growth (examples/seed003_growth), reduced: 40 s instead of 100 s, coarser steps,
no pictures. Asserts only what the model shows robustly: Faraday, the nuclei growing at
the Butler-Volmer rate of -20 mV, uniform current on the nuclei, and many small nuclei
spreading the deposit more evenly over the footprint than few large ones."""

from __future__ import annotations

import importlib.util
import math
import tomllib
from pathlib import Path

import pytest
import tomli_w
from mpi4py import MPI

from femli.units import FARADAY, GAS_CONSTANT, LI_DENSITY, LI_MOLAR_MASS, T_DEFAULT

FOLDER = Path(__file__).resolve().parents[2] / "examples" / "seed003_growth"
T_END = 40.0  # s


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"seed003_growth_{name}", FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bv_velocity_um_s() -> float:
    """Growth rate (um/s) of the nuclei: Butler-Volmer at eta = -20 mV, i0 = 30 A/m2,
    alpha 1.5 / 0.5 (the ohmic drop is negligible), Faraday's law for Li."""
    f = FARADAY / (GAS_CONSTANT * T_DEFAULT)
    i = 30.0 * (math.exp(0.5 * f * 0.02) - math.exp(-1.5 * f * 0.02))  # A/m2, deposition
    return i * LI_MOLAR_MASS / (FARADAY * LI_DENSITY) * 1e6


def reduced(case: str, out: Path) -> Path:
    """The case file shortened to T_END with 20 nm steps and no renders (rank 0 writes)."""
    path = out / f"{case}.toml"
    if MPI.COMM_WORLD.rank == 0:
        data = tomllib.loads((FOLDER / f"{case}.toml").read_text())
        data["growth"].update(t_end=T_END, max_displacement_um=0.02, snapshots=[0.0, T_END])
        data["output"] = {"renders": False, "fields": False}
        path.write_text(tomli_w.dumps(data))
    MPI.COMM_WORLD.barrier()
    return path


@pytest.mark.mpi
def test_seed003_growth_faraday_rate_and_footprint_uniformity(mpi_tmp_path):
    grow, analyse = _module("grow"), _module("analyse")
    results = {}
    for case in ("bare_li_2d", "scp_li_2d"):
        out = mpi_tmp_path / case
        assert grow.main([str(reduced(case, mpi_tmp_path)), "-o", str(out), "-q"]) == 0
        # files are complete on return (grow.main ends with a barrier); rank 0 reads them
        comm = MPI.COMM_WORLD
        results[case] = comm.bcast(analyse.analyse(out) if comm.rank == 0 else None, root=0)
    velocity_um_s = bv_velocity_um_s()
    for r in results.values():
        assert r["completed"]
        final = r["final"]
        assert final["t_s"] == pytest.approx(T_END)
        # Faraday: deposited volume = M/(F rho) x charge (trapezoidal in time)
        assert final["volume_over_faraday_trapezoid"] == pytest.approx(1.0, abs=5e-3)
        # the top of the nuclei moves at the kinetic rate; current uniform on the nuclei
        grown = final["max_height_um"] - r["initial"]["max_height_um"]
        assert grown == pytest.approx(velocity_um_s * T_END, rel=0.02)
        assert final["hotspot_index"] < 1.01
    bare, scp = results["bare_li_2d"]["final"], results["scp_li_2d"]["final"]
    # many small close nuclei spread the deposit over the footprint more evenly (at 40 s,
    # full run: thickness CV 0.83 vs 1.38, RMS roughness 0.110 vs 0.186 um)
    assert scp["thickness_cv"] < 0.8 * bare["thickness_cv"]
    assert scp["rms_roughness_um"] < 0.75 * bare["rms_roughness_um"]


def test_analyse_reads_the_folder_of_femli_run(tmp_path, capsys):
    """``analyse.py`` on what ``femli run`` writes for a growth case (no ``profiles/``):
    was an IndexError; now the series' states, with "—" for what needs the surface."""
    import json

    from shared_cases import GROWTH

    from femli.case.checks import parse_case
    from femli.pipeline import run_case

    out = tmp_path / "grow"
    metrics = run_case(parse_case(tomllib.loads(GROWTH)), out, MPI.COMM_WORLD)
    analyse = _module("analyse")
    analyse.main([str(out), "--json", str(tmp_path / "a.json"), "--plot", str(tmp_path / "p.png")])
    printed = capsys.readouterr().out
    assert "| max height (um) | 1.000 | 1.216 |" in printed
    assert "| RMS roughness over the footprint (um) | — | — |" in printed
    assert "no profiles/ (grow.py writes them): skipped" in printed
    assert not (tmp_path / "p.png").exists()
    (result,) = json.loads((tmp_path / "a.json").read_text())
    final, growth = result["final"], metrics["growth"]
    assert [s["t_s"] for s in result["snapshots"]] == pytest.approx([0.0, 3.0, 6.0], abs=0.7)
    assert final["t_s"] == growth["t_s"] and result["steps"] == growth["steps"]
    assert final["max_height_um"] == pytest.approx(growth["max_height_m"] * 1e6)
    assert final["volume_over_faraday_trapezoid"] == pytest.approx(1.0, abs=5e-3)
    electrode = metrics["electrodes"]["li"]
    footprint = electrode["footprint_deposition_current_density_A_m2"]
    assert final["current_footprint_mA_cm2"] == pytest.approx(footprint / 10, rel=1e-9)
    assert final["hotspot_index_footprint"] == pytest.approx(electrode["footprint_hotspot_index"])


@pytest.mark.mpi
def test_grow_goes_on_from_its_checkpoint_as_if_never_stopped(mpi_tmp_path):
    """``grow.py --restart`` continues from the last checkpoint (written every 3 steps,
    never at t_end) to the end state of the uninterrupted run; ``metrics.json`` says
    where it restarted."""
    import json

    grow = _module("grow")
    data = tomllib.loads((FOLDER / "bare_li_2d.toml").read_text())
    data["growth"].update(t_end=10.0, max_displacement_um=0.005, snapshots=[0.0, 10.0])
    data["output"] = {"renders": False, "fields": False, "checkpoint_interval": 3}
    case, out = mpi_tmp_path / "case.toml", mpi_tmp_path / "run"
    if MPI.COMM_WORLD.rank == 0:
        case.write_text(tomli_w.dumps(data))
    MPI.COMM_WORLD.barrier()
    assert grow.main([str(case), "-o", str(out), "-q"]) == 0
    first = json.loads((out / "metrics.json").read_text())["growth"]
    saved = json.loads((out / "checkpoint" / "state.json").read_text())
    assert 0.0 < saved["t"] < 10.0 and first["restarted_at_s"] is None
    rows = (out / "gaps.csv").read_text().splitlines()[1:]  # one per step
    assert grow.main([str(case), "-o", str(out), "-q", "--restart"]) == 0
    after = (out / "gaps.csv").read_text().splitlines()[1:]  # the steps after the restart
    assert float(after[0].split(",")[0]) > saved["t"] and len(after) < len(rows)
    again = json.loads((out / "metrics.json").read_text())["growth"]
    assert again["restarted_at_s"] == pytest.approx(saved["t"])
    assert again["steps"] == first["steps"] and again["t_s"] == pytest.approx(10.0)
    for key in ("max_height_m", "deposited_volume_m3", "charge_C"):
        assert again[key] == pytest.approx(first[key], rel=1e-7), key


def test_grow_stopped_by_a_signal_writes_its_results_and_goes_on(tmp_path, monkeypatch):
    """SIGINT during a run: grow.py stops after the step it is in (after its checkpoint),
    writes metrics.json with growth.stop kind 'interrupted' (exit 4), and ``--restart``
    goes on to t_end."""
    import json
    import os
    import signal

    grow = _module("grow")
    data = tomllib.loads((FOLDER / "bare_li_2d.toml").read_text())
    data["growth"].update(t_end=10.0, max_displacement_um=0.005, snapshots=[0.0, 10.0])
    data["output"] = {"renders": False, "fields": False, "checkpoint_interval": 3}
    case, out = tmp_path / "case.toml", tmp_path / "run"
    case.write_text(tomli_w.dumps(data))
    original = grow.Monitor.__call__
    calls = []

    def signalled(self, growth, record):
        calls.append(record["t"])
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would, in the middle of a run
        return original(self, growth, record)

    monkeypatch.setattr(grow.Monitor, "__call__", signalled)
    assert grow.main([str(case), "-o", str(out), "-q"]) == 4
    metrics = json.loads((out / "metrics.json").read_text())["growth"]
    assert metrics["stop"]["kind"] == "interrupted" and not metrics["completed"]
    assert metrics["t_s"] == pytest.approx(calls[3]) and metrics["t_s"] < 10.0
    monkeypatch.setattr(grow.Monitor, "__call__", original)
    assert grow.main([str(case), "-o", str(out), "-q", "--restart"]) == 0
    assert json.loads((out / "metrics.json").read_text())["growth"]["t_s"] == pytest.approx(10.0)
