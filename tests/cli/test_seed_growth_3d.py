"""Seed 003 growth in 3D through merging (examples/seed003_growth/merge_3d), reduced: a
1.5 x 1.5 um window of each anode (BLi: one 0.55 um nucleus; SCP@Li: six 0.15 um
nuclei, the preset's density), meshes twice as coarse, 25 s instead of 100 s. The full
runs and their numbers: examples/seed003_growth/README.md."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomli_w
from test_seed_growth import FOLDER, _module, bv_velocity_um_s

T_END = 25.0  # s
WINDOW = {"width": 1.5, "depth": 1.5, "height": 2.0, "refinement": 0.5}  # um


def reduced(case: str, count: int, out: Path) -> Path:
    """The 3D merging case on the reduced window, 20 nm steps, no pictures."""
    data = tomllib.loads((FOLDER / "merge_3d" / f"{case}.toml").read_text())
    data["geometry"] |= WINDOW | {"count": count}
    data["growth"].update(t_end=T_END, max_displacement_um=0.02, snapshots=[0.0, T_END])
    data["output"] = {"renders": False, "fields": False}
    path = out / f"{case}.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def test_seed003_3d_nuclei_merge_and_grow_to_the_end(tmp_path):
    grow, analyse = _module("grow"), _module("analyse")
    results = {}
    for case, count in (("bare_li_3d", 1), ("scp_li_3d", 6)):
        out = tmp_path / case
        assert grow.main([str(reduced(case, count, tmp_path)), "-o", str(out), "-q"]) == 0
        results[case] = analyse.analyse(out)
    velocity_um_s = bv_velocity_um_s()  # the tops grow at the kinetic rate
    for r in results.values():
        final = r["final"]
        assert r["completed"] and final["t_s"] == pytest.approx(T_END)
        assert final["volume_over_faraday_trapezoid"] == pytest.approx(1.0, abs=5e-3)
        # (BLi: 3.2 % fast: the volume-exact step carries the Faraday volume on the coarse
        # inscribed polyhedron, whose nodes must then move a little more than v dt)
        grown = final["max_height_um"] - r["initial"]["max_height_um"]
        assert grown == pytest.approx(velocity_um_s * T_END, rel=0.05)
    bare, scp = results["bare_li_3d"]["final"], results["scp_li_3d"]["final"]
    assert bare["merges"] == 0 and scp["merges"] >= 1  # the small close nuclei fuse
    assert results["scp_li_3d"]["remeshes"] >= scp["merges"]  # a rebuild per merge
    # many small nuclei cover the footprint more evenly (here 1.64 vs 2.06, 0.065 vs
    # 0.113 um; the full 3D runs: README.md)
    assert scp["thickness_cv"] < 0.9 * bare["thickness_cv"]
    assert scp["rms_roughness_um"] < 0.75 * bare["rms_roughness_um"]
