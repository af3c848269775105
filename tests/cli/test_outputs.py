"""What a run leaves for the user to open: fields and electrode surfaces that PyVista
reads, time series ParaView plays, animations, pictures in one unit (mA/cm2)."""

from __future__ import annotations

import copy
import csv
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI
from shared_cases import GROWTH, TINY

from femli.case.checks import parse_case
from femli.pipeline import run_case

ON = {"renders": True, "fields": True}


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.mpi
def test_a_planar_run_writes_fields_and_pictures_in_mA_per_cm2(mpi_tmp_path):
    """50 A/m2 on a planar electrode: 5 mA/cm2 everywhere the user looks."""
    import pyvista

    from femli.outputs.pictures import draw_electrode, draw_section
    from femli.outputs.quantities import CURRENT, DEPOSITION, concentration_name
    from femli.outputs.surface import node_weights

    config = parse_case(copy.deepcopy(TINY) | {"output": ON})
    out = mpi_tmp_path / "tiny"
    run_case(config, out, MPI.COMM_WORLD)
    if MPI.COMM_WORLD.rank != 0:
        return
    grid = pyvista.read(out / "fields" / "solution.vtu")
    surface = pyvista.read(out / "fields" / "electrode_li.vtp")
    values, w = surface.point_data[DEPOSITION], node_weights(surface)
    assert values == pytest.approx(np.full(values.size, 5.0), rel=1e-8)
    assert (values * w).sum() * 10.0 * 1e-6 == pytest.approx(
        50.0 * float(np.ptp(surface.points[:, 0])) * 1e-6, rel=1e-10
    )  # A/m through the electrode: 50 A/m2 times its width
    c = grid.point_data[concentration_name("Li+")]
    c_surface = surface.point_data[concentration_name("Li+")]
    assert c_surface.min() == pytest.approx(c.min(), rel=1e-12)  # depleted at the electrode
    for name in ("electrode_li.png", "concentration_flux.png", "current_density.png"):
        assert (out / name).stat().st_size > 10_000, name
    _, electrode = draw_electrode(surface)
    _, current = draw_section(
        grid,
        {"li": surface},
        scalar=CURRENT,
        vectors=CURRENT,
        label="|i|",
        title="",
        magnitude=True,
    )
    import matplotlib.pyplot as plt

    plt.close("all")
    assert electrode.uniform and electrode.mean == pytest.approx(5.0, rel=1e-8)
    assert current.mean == pytest.approx(5.0, rel=1e-3)  # the electrolyte current, mA/cm2


def test_a_transient_run_writes_a_series_pyvista_plays_and_an_animation(tmp_path):
    import pyvista

    from femli.outputs.animation import frame_count
    from femli.outputs.quantities import concentration_name
    from femli.outputs.series import FRAMES

    data = copy.deepcopy(TINY) | {"time": {"t_end": 0.5}, "output": ON}
    out = tmp_path / "march"
    metrics = run_case(parse_case(data), out, MPI.COMM_WORLD)
    steps = metrics["transient"]["steps"]
    reader = pyvista.get_reader(out / "series" / "solution.pvd")
    times = list(reader.time_values)
    assert times[0] == 0.0 and times[-1] == pytest.approx(0.5)
    assert 2 < len(times) <= min(FRAMES + 1, steps + 1)
    surfaces = pyvista.get_reader(out / "series" / "electrode_li.pvd")
    assert list(surfaces.time_values) == times
    rows = _rows(out / "time_series.csv")
    for t in (times[1], times[-1]):  # each frame is the state of its step
        surfaces.set_active_time_value(t)
        frame = surfaces.read()[0]
        row = next(r for r in rows if float(r["t_s"]) == pytest.approx(t, rel=1e-9))
        c_min = float(frame.point_data[concentration_name("Li+")].min())
        assert c_min == pytest.approx(float(row["c_min_mol_m3_li"]), rel=1e-8)
        assert float(frame.field_data["time_s"][0]) == pytest.approx(t, rel=1e-12)
    assert frame_count(out / "electrode_li.gif") == len(times)


@pytest.mark.mpi
def test_a_growth_run_writes_moving_fields_with_the_growth_velocity(mpi_tmp_path):
    import pyvista

    from femli.outputs.animation import frame_count
    from femli.outputs.quantities import VELOCITY
    from femli.outputs.surface import node_weights
    from femli.units import to_um

    out = mpi_tmp_path / "grow"
    run_case(parse_case(tomllib.loads(GROWTH)), out, MPI.COMM_WORLD)
    if MPI.COMM_WORLD.rank != 0:
        return
    surfaces = pyvista.get_reader(out / "series" / "electrode_li.pvd")
    grids = pyvista.get_reader(out / "series" / "solution.pvd")
    times = list(surfaces.time_values)
    assert list(grids.time_values) == times and times[-1] == pytest.approx(6.0)
    assert 3.0 in times  # the snapshot
    rows = _rows(out / "growth_series.csv")
    tops = []
    for t in times:
        surfaces.set_active_time_value(t)
        surface = surfaces.read()[0]
        row = next(r for r in rows if float(r["t_s"]) == pytest.approx(t, rel=1e-9))
        v, w = surface.point_data[VELOCITY], node_weights(surface)  # um/s, growth positive
        assert v.max() / ((v * w).sum() / w.sum()) == pytest.approx(
            float(row["hotspot_index"]), rel=1e-8
        )
        top = surface.points[:, 1].max()
        assert top == pytest.approx(to_um(float(row["max_height_m"])), rel=1e-9)  # CSV digits
        tops.append(top)
    assert tops[-1] > tops[0]  # the mesh in the files moves with the deposit
    grids.set_active_time_value(times[-1])
    assert grids.read()[0].points[:, 1].min() > -1e-9
    assert frame_count(out / "electrode_li.gif") == len(times)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


#: Two nuclei on a 2 um square (3D, coarse: ~2 s), deposition varying over the surface.
NUCLEI_3D = {
    "name": "nuclei3d",
    "geometry": {"kind": "nucleus_array", "dim": 3, "width": 2.0, "depth": 2.0, "height": 2.0,
                 "diameter": 0.6, "count": 2, "placement": "lattice", "h_substrate": 0.4,
                 "h_far": 0.8},
    "electrodes": [{"name": "li", "potential": -0.02,
                    "kinetics": {"nuclei": {"exchange_current": 30.0, "alpha_a": 1.5}}}],
}  # fmt: skip


def _case(example: str) -> dict:
    if example == "3d":
        return copy.deepcopy(NUCLEI_3D) | {"output": ON}
    return tomllib.loads((EXAMPLES / example).read_text()) | {"output": ON}


@pytest.mark.mpi
@pytest.mark.parametrize(
    ("example", "electrode"),
    [
        ("3d", "li"),
        ("textbook_1d/binary_cell.toml", "cathode"),
        ("axisymmetric/sphere_primary.toml", "sphere"),
    ],
    ids=["3d", "1d", "r-z"],
)
def test_fields_pyvista_reads_hold_what_metrics_json_says(mpi_tmp_path, example, electrode):
    """A 3D nucleus array, a 1D cell (its electrodes are points) and an r-z run, serial and
    on 2 ranks: metrics.json fits the schema; the fields open with pyvista and hold what
    metrics.json says (mean, max, total current, min concentration; r-z: 2 pi r weights,
    lumped here, so the mean within 0.2 %); every picture is drawn."""
    import pyvista

    from femli.outputs.metrics_format import validate
    from femli.outputs.quantities import DEPOSITION, concentration_name
    from femli.outputs.surface import node_weights

    out = mpi_tmp_path / "out"
    run_case(parse_case(_case(example)), out, MPI.COMM_WORLD)
    if MPI.COMM_WORLD.rank != 0:
        return
    metrics = json.loads((out / "metrics.json").read_text())
    validate(metrics)
    found = metrics["electrodes"][electrode]
    stats = found["deposition_current_density"]
    grid = pyvista.read(out / "fields" / "solution.vtu")
    surface = pyvista.read(out / "fields" / f"electrode_{electrode}.vtp")
    ion = "Li+"  # the reacting ion of all three
    if concentration_name(ion) in grid.point_data:  # not in the primary model
        c_min = float(grid.point_data[concentration_name(ion)].min())
        assert c_min == pytest.approx(metrics["min_concentration_mol_m3"], rel=1e-10)
    values, w = np.asarray(surface.point_data[DEPOSITION]), node_weights(surface)
    mean = float((values * w).sum() / w.sum())
    assert values.max() == pytest.approx(stats["max_A_m2"] / 10.0, rel=1e-8)  # mA/cm2
    if example == "3d":  # mA/cm2 x um2 -> A: the deposition current is -total_current_A
        assert values.max() > values.min()
        assert mean == pytest.approx(stats["mean_A_m2"] / 10.0, rel=1e-8)
        total = float((values * w).sum()) * 10.0 * 1e-12
        assert total == pytest.approx(-found["total_current_A"], rel=1e-8)
    elif example.startswith("textbook_1d"):
        assert surface.n_points == 1 and surface.n_verts == 1  # the electrode is x = 10 um
        assert surface.points[0, 0] == pytest.approx(10.0)
        assert mean == pytest.approx(stats["mean_A_m2"] / 10.0, rel=1e-8)
    else:
        assert "axisymmetric" in surface.field_data and "axisymmetric" in grid.field_data
        assert mean == pytest.approx(stats["mean_A_m2"] / 10.0, rel=2e-3)
    names = ("concentration_flux.png", "current_density.png", f"electrode_{electrode}.png")
    for name in (*names, f"surface_current_{electrode}.png"):
        assert (out / name).stat().st_size > 5_000, name


def test_a_1d_transient_run_writes_a_series_and_an_animation_of_its_electrode_point(tmp_path):
    """A [time] run of a 1D cell: its series plays in pyvista and its GIF has a frame per
    series frame (the electrode is a point: its value over time)."""
    import pyvista

    from femli.outputs.animation import frame_count

    data = tomllib.loads((EXAMPLES / "textbook_1d" / "limiting_current.toml").read_text())
    data["geometry"]["cells"] = 20
    data |= {"time": {"t_end": 0.002}, "output": ON}
    out = tmp_path / "march"
    run_case(parse_case(data), out, MPI.COMM_WORLD)
    times = list(pyvista.get_reader(out / "series" / "solution.pvd").time_values)
    assert times[0] == 0.0 and times[-1] == pytest.approx(0.002) and len(times) > 2
    reader = pyvista.get_reader(out / "series" / "electrode_lithium.pvd")
    reader.set_active_time_value(times[-1])
    assert reader.read()[0].n_verts == 1
    assert frame_count(out / "electrode_lithium.gif") == len(times)
    from PIL import Image

    with Image.open(out / "electrode_lithium.gif") as gif:  # the 1D plot, not a 3D scene
        assert gif.size == (768, 456)
