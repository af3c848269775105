"""metrics.json as runs write it (every kind fits the published schema) and as femli reads
it back from folders of earlier versions: a sweep's finished cases, ``--restart`` of a
finished run, ``femli compare``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from mpi4py import MPI
from shared_cases import GROWTH, TINY

from femli.case.checks import parse_case
from femli.outputs import metrics_format as fmt
from femli.outputs.compare import compare
from femli.outputs.files import atomic_write_json
from femli.outputs.folder import tracking
from femli.pipeline import run_case
from femli.study import run_study

TRANSIENT = copy.deepcopy(TINY) | {"name": "tiny_transient", "time": {"t_end": 0.2}}

#: Two nuclei on a 2 um square (3D, coarse): about 2 s.
NUCLEI_3D = {
    "name": "nuclei3d",
    "geometry": {
        "kind": "nucleus_array",
        "dim": 3,
        "width": 2.0,
        "depth": 2.0,
        "height": 2.0,
        "diameter": 0.6,
        "count": 2,
        "placement": "lattice",
        "h_substrate": 0.4,
        "h_far": 0.8,
    },
    "electrodes": [
        {
            "name": "li",
            "potential": -0.02,
            "kinetics": {"nuclei": {"exchange_current": 30.0, "alpha_a": 1.5}},
        }
    ],
    "output": {"renders": False, "fields": False},
}


def to_version_1(metrics: dict) -> dict:
    """The file femli wrote before version 2 for the same run (inverse of the renames)."""
    old = copy.deepcopy(metrics)
    back = lambda names: {new: o for o, new in names.items()}  # noqa: E731

    def rename(table, names):
        for new, o in back(names).items():
            if isinstance(table, dict) and new in table:
                table[o] = table.pop(new)

    rename(old, fmt._CASE)
    for e in old["electrodes"].values():
        rename(e, fmt._ELECTRODE)
        rename(e["deposition_current_density"], fmt._STATS)
        for part in e["parts"].values():
            rename(part, fmt._PART)
            rename(part["deposition_current_density"], fmt._STATS)
            for feature in part["per_feature"]:
                rename(feature, fmt._FEATURE)
    rename(old.get("transient"), fmt._TRANSIENT)
    for key in ("metrics_version", "dim"):
        old.pop(key)
    old["geometry"].pop("length_unit", None)
    return old


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(TINY, id="stationary_2d"),
        pytest.param(TRANSIENT, id="transient"),
        pytest.param(tomllib.loads(GROWTH), id="growth", marks=pytest.mark.mpi),
        pytest.param(NUCLEI_3D, id="stationary_3d", marks=pytest.mark.mpi),
    ],
)
def test_every_kind_writes_metrics_that_fit_the_schema(mpi_tmp_path, case):
    config = parse_case(copy.deepcopy(case))
    returned = run_case(config, mpi_tmp_path / "out", MPI.COMM_WORLD)
    MPI.COMM_WORLD.barrier()
    written = json.loads((mpi_tmp_path / "out" / "metrics.json").read_text())
    fmt.validate(written)
    assert written["metrics_version"] == fmt.METRICS_VERSION
    assert written["dim"] == case["geometry"].get("dim", 2)
    assert returned["electrodes"].keys() == written["electrodes"].keys()
    (electrode,) = written["electrodes"].values()
    stats = electrode["deposition_current_density"]
    # one sign convention: electrode currents anodic positive, deposition positive
    assert electrode["total_current_A"] < 0 < stats["mean_A_m2"]
    assert stats["hotspot_index"] == pytest.approx(stats["max_A_m2"] / stats["mean_A_m2"])
    assert electrode["footprint_deposition_current_density_A_m2"] == pytest.approx(
        -electrode["total_current_A"] / electrode["footprint_area_m2"]
    )
    assert fmt.upgrade(to_version_1(written)) == written  # the translation is exact


def femli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "femli", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial: command line")
def test_restart_of_a_finished_version_1_run_reads_it(tmp_path):
    """``--restart`` of a run finished by an earlier femli: nothing is redone and its
    metrics are reported; ``femli compare`` reads it next to a current folder."""
    (tmp_path / "tiny.toml").write_text(_toml(TINY))
    out = tmp_path / "old"
    assert femli("run", "tiny.toml", "-o", "old", cwd=tmp_path).returncode == 0
    current = json.loads((out / "metrics.json").read_text())
    with tracking(out):
        atomic_write_json(out / "metrics.json", to_version_1(current))
    before = (out / "metrics.json").read_bytes()
    again = femli("run", "tiny.toml", "-o", "old", "--restart", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "finished before; nothing to do" in again.stderr
    assert "li: mean deposition 5 mA/cm2" in again.stdout
    assert (out / "metrics.json").read_bytes() == before  # the file is left as it was
    assert femli("run", "tiny.toml", "-o", "new", cwd=tmp_path).returncode == 0
    table = compare(out, tmp_path / "new", tmp_path / "cmp")
    assert "| li | mean deposition current density | mA/cm2 | 5 | 5 | 1 |" in table
    assert "footprint deposition current density" in table


def _toml(data: dict) -> str:
    import tomli_w

    return tomli_w.dumps(data)


RIDGES = """
name = "v1_sweep"
base = "case.toml"
[[axes]]
key = "electrodes.0.current_density"
values = [-50.0, -100.0]
"""


def test_sweep_resume_takes_a_version_1_case_as_finished(tmp_path):
    """A sweep folder of an earlier femli: its finished cases are skipped and summarised
    under the current column names."""
    (tmp_path / "case.toml").write_text(_toml(TINY))
    (tmp_path / "study.toml").write_text(RIDGES)
    out = tmp_path / "out"
    first = run_study(tmp_path / "study.toml", out)
    folder = out / first.outcomes[0].case_id
    current = json.loads((folder / "metrics.json").read_text())
    with tracking(folder):
        atomic_write_json(folder / "metrics.json", to_version_1(current))
    second = run_study(tmp_path / "study.toml", out)
    assert [o.action for o in second.outcomes] == ["skipped", "skipped"]
    row = second.table.iloc[0]
    electrode = current["electrodes"]["li"]
    assert row["li.total_current_A"] == electrode["total_current_A"]
    assert row["li.deposition_mean_A_m2"] == electrode["deposition_current_density"]["mean_A_m2"]
    assert row["min_concentration_mol_m3"] == current["min_concentration_mol_m3"]
    assert list(second.table.columns) == list(first.table.columns)


def test_plots_still_accept_the_old_name_of_a_renamed_column():
    from femli.study.summary import resolve_metric

    assert resolve_metric("total_current", ["li", "cu"]) == [
        "li.total_current_A",
        "cu.total_current_A",
    ]
    assert resolve_metric("li.total_current", ["li"]) == ["li.total_current_A"]
    assert resolve_metric("total_current_A", ["li"]) == ["li.total_current_A"]
    assert resolve_metric("total_currents", ["li"]) == []
