"""Study expansion and summary tables without solving: axes, ids, errors, aggregation."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from femli.study import (
    StudyError,
    aggregate,
    case_id,
    case_state,
    expand_study,
    parse_plot,
    plot_summary,
    set_path,
    write_index,
)

BASE = {
    "name": "ridge",
    "geometry": {"preset": "seed000_ridge", "h_far": 2.0, "h_electrode": 0.5},
    "electrodes": [
        {
            "name": "li",
            "current_density": -50.0,
            "kinetics": {"electrode": {"exchange_current": 30.0}},
        }
    ],
    "output": {"renders": False, "fields": False},
}


def study(*axes: dict, **top) -> dict:
    return {"base": copy.deepcopy(BASE), "axes": list(axes), **top}


def problems(data: dict, **kwargs) -> list[str]:
    with pytest.raises(StudyError) as info:
        expand_study(data, **kwargs)
    return info.value.problems


def test_cartesian_expansion_varies_the_last_axis_fastest():
    s = expand_study(
        study(
            {"key": "electrodes.0.current_density", "values": [-50.0, -100.0]},
            {"key": "geometry.asperity_height", "range": {"start": 0.5, "stop": 1.5, "num": 3}},
        )
    )
    assert [a.name for a in s.axes] == ["current_density", "asperity_height"]
    assert [c.params for c in s.cases][:4] == [
        {"current_density": -50.0, "asperity_height": 0.5},
        {"current_density": -50.0, "asperity_height": 1.0},
        {"current_density": -50.0, "asperity_height": 1.5},
        {"current_density": -100.0, "asperity_height": 0.5},
    ]
    assert s.cases[3].case_id == "case_0003_current_density=-100_asperity_height=0.5"
    assert s.cases[3].config.electrodes[0].current_density == -100.0
    assert s.cases[3].config.geometry.params["asperity_height"] == 0.5
    assert len({c.digest for c in s.cases}) == 6
    again = expand_study(study(*[{"key": a.keys[0], "values": list(a.columns)} for a in s.axes]))
    assert [(c.case_id, c.digest) for c in again.cases] == [(c.case_id, c.digest) for c in s.cases]


def test_zip_advances_axes_together_and_spacings_are_clean():
    s = expand_study(
        study(
            {"key": "geometry.asperity_height", "range": {"start": 0.1, "stop": 0.5, "num": 5}},
            {
                "key": "electrodes.0.current_density",
                "logspace": {"start": -1, "stop": -1e4, "num": 5},
            },
            {"key": "geometry.seed", "range": {"start": 1, "stop": 5, "num": 5}},
            mode="zip",
        )
    )
    heights = [c.params["asperity_height"] for c in s.cases]
    assert heights == [0.1, 0.2, 0.3, 0.4, 0.5]  # no 0.30000000000000004
    assert [c.params["current_density"] for c in s.cases] == [-1.0, -10.0, -100.0, -1000.0, -1e4]
    counts = [c.config.geometry.params["seed"] for c in s.cases]
    assert counts == [1, 2, 3, 4, 5]
    assert all(type(n) is int for n in counts)
    assert s.cases[2].case_id == "case_0002_asperity_height=0.3_current_density=-100_seed=3"


def test_multi_key_axis_with_labels_and_table_values():
    s = expand_study(
        study(
            {
                "key": ["electrolyte.conductivity", "electrodes.0.kinetics.electrode"],
                "name": "electrode",
                "values": [
                    [7.68e-3, {"exchange_current": 5.9}],
                    [0.173, {"exchange_current": 6.6}],
                ],
                "labels": ["bare Li", "bilayer"],
            },
            {"key": "electrodes.0.kinetics", "values": [{"electrode": {"exchange_current": 1.0}}]},
        )
    )
    assert [c.case_id for c in s.cases] == [
        "case_0000_electrode=bare_Li_kinetics=v0",
        "case_0001_electrode=bilayer_kinetics=v0",
    ]
    assert s.cases[1].params["electrode"] == "bilayer"
    assert s.cases[1].config.electrolyte.conductivity == 0.173
    assert s.cases[1].config.electrodes[0].kinetics["electrode"].exchange_current == 1.0
    assert json.loads(s.cases[0].params["kinetics"]) == {"electrode": {"exchange_current": 1.0}}


def test_set_path_indexes_lists_and_creates_tables():
    data = {"a": [{"b": 1}, {"b": 2}]}
    set_path(data, "a.1.b", 5)
    set_path(data, "a.-1.c", 6)
    set_path(data, "new.table.value", 7)
    assert data == {"a": [{"b": 1}, {"b": 5, "c": 6}], "new": {"table": {"value": 7}}}
    for key, words in [
        ("a.2.b", "a has 2 entries, no index 2"),
        ("a.x", "a is a list; index it with an integer"),
        ("a.0.b.c", "a.0.b = 1 is a value"),
        ("missing.0.x", "the base case has no list 'missing'"),
    ]:
        with pytest.raises(KeyError, match=words):
            set_path(data, key, 0)


def test_case_ids_are_padded_safe_and_capped():
    assert case_id(3, 10, [("cd", "-100")]) == "case_0003_cd=-100"
    assert case_id(3, 20000, []) == "case_00003"
    assert len(case_id(1, 2, [("x" * 200, "1")])) == 120


def test_bad_study_keys_get_one_line_each_with_hints():
    found = problems(
        {
            "base": BASE,
            "mdoe": "zip",
            "axes": [
                {"kee": "a", "values": [1]},
                {"key": "a", "range": {"start": 1, "stop": 2}},
                {"key": "a", "values": [1], "range": {"start": 1, "stop": 2, "num": 2}},
            ],
        }
    )
    joined = "\n".join(found)
    assert "unknown key 'mdoe'. Did you mean 'mode'?" in joined
    assert "missing required key 'axes[0].key'" in joined
    assert "unknown key 'axes[0].kee'. Did you mean 'key'?" in joined
    assert "missing required key 'axes[1].range.num'" in joined
    assert "axes[2]: give exactly one of values, range or logspace" in joined
    assert problems({"base": 3, "axes": [{"key": "a", "values": [1]}]}) == [
        "base = 3: give a case file path (string) or a [base] table"
    ]


@pytest.mark.parametrize(
    ("axes", "top", "message"),
    [
        (
            [{"key": ["a", "b"], "values": [[1, 2]]}],
            {},
            "axes[0]: an axis with 2 keys needs a name",
        ),
        ([{"key": ["a", "b"], "name": "x", "values": [[1]]}], {}, "list of 2 entries"),
        ([{"key": "a", "values": [1, 2], "labels": ["x"]}], {}, "labels has 1 entries"),
        ([{"key": "a", "logspace": {"start": -1, "stop": 1, "num": 3}}], {}, "same sign"),
        ([{"key": "a..b", "values": [1]}], {}, "not a dotted path"),
        (
            [{"key": "name", "values": ["a", "b"]}, {"key": "description", "values": ["c"]}],
            {"mode": "zip"},
            "mode = 'zip' needs axes of equal length, got name: 2, description: 1",
        ),
        (
            [
                {"key": "name", "values": ["a"], "name": "n"},
                {"key": "x", "values": [1], "name": "n"},
            ],
            {},
            "axes[0].name = 'n': used by another axis",
        ),
        ([{"key": "status", "values": [1]}], {}, "reserved for a summary column"),
    ],
)
def test_bad_axes_are_named(axes, top, message):
    assert any(message in p for p in problems(study(*axes, **top))), problems(study(*axes, **top))


def test_every_bad_expanded_case_is_reported_before_running():
    found = problems(
        study(
            {"key": "electrodes.0.current_density", "values": [-50.0, -100.0]},
            {"key": "geometry.asperity_height", "values": [-1.0, 1.0, 20.0]},
            {"key": "electrodes.0.kinetics.electrode.alpha_a", "values": [0.5, -1]},
        )
    )
    assert len(found) == 3, found
    assert found[0] == (  # geometry is checked once the case schema passes (not for alpha_a=-1)
        "case_0000_current_density=-50_asperity_height=-1_alpha_a=0.5, "
        "case_0006_current_density=-100_asperity_height=-1_alpha_a=0.5: "
        "geometry: asperity_height=-1.0 is not allowed: must be > 0 (um)"
    )
    assert found[1].endswith(
        "and 3 more: electrodes[0].kinetics.electrode.alpha_a = -1: Input should be greater than 0"
    )
    assert "asperity_height=20.0 is not allowed" in found[2]


def test_same_problem_in_every_case_is_one_line():
    found = problems(study({"key": "electrodes.0.curent_density", "values": [-1.0, -2.0]}))
    assert len(found) == 1
    assert found[0].startswith(
        "unknown key 'electrodes[0].curent_density'. Did you mean 'current_density'?"
    )
    assert found[0].endswith("(all 2 cases)")
    found = problems(study({"key": "geometry.asperity_hieght", "values": [1.0]}))
    assert "did you mean 'asperity_height'?" in found[0]
    found = problems(study({"key": "electrodes.1.name", "values": ["x"]}))
    assert found == ["key 'electrodes.1.name': electrodes has 1 entries, no index 1"]


def test_files_and_plots_are_checked(tmp_path):
    (tmp_path / "bad.toml").write_text("base = [")
    with pytest.raises(StudyError, match="not valid TOML"):
        expand_study(tmp_path / "bad.toml")
    with pytest.raises(StudyError, match="does not exist"):
        expand_study(tmp_path / "none.toml")
    (tmp_path / "s.toml").write_text('base = "case.toml"\n[[axes]]\nkey = "name"\nvalues = ["a"]')
    with pytest.raises(StudyError, match=r"case\.toml.*does not exist"):
        expand_study(tmp_path / "s.toml")
    axis = {"key": "electrodes.0.current_density", "values": [-1.0]}
    found = problems(study(axis), plots=["hotspot:current"])
    assert "unknown parameter 'current'. Did you mean 'current_density'?" in found[0]
    assert "unknown metric 'hotspot'. Did you mean 'hotspot_index'?" in found[1]
    with pytest.raises(StudyError, match="expected METRIC:PARAM"):
        parse_plot("hotspot_index")
    s = expand_study(study(axis), plots=["li.cv:current_density", "dofs:current_density"])
    assert [(p.metric, p.param) for p in s.plots] == [
        ("li.cv", "current_density"),
        ("dofs", "current_density"),
    ]


def fake_metrics(digest: str, hotspot: float) -> dict:
    stats = {
        "mean": 50.0,
        "max": 50.0 * hotspot,
        "p95": 50.0,
        "hotspot_index": hotspot,
        "coefficient_of_variation": 0.1,
        "area_fraction_above_2x_mean": 0.0,
    }
    electrode = {
        "total_current": -5e-4,
        "potential_V": -0.03,
        "mean_surface_overpotential_V": -0.03,
        "deposition_current_density": stats,
    }
    return {
        "dofs": 1000,
        "electrodes": {"li": electrode},
        "min_concentration": 990.0,
        "solver": {"newton_iterations": 3, "krylov_iterations": 3},
        "timings_s": {"mesh": 0.1, "setup": 0.2, "solve": 0.3, "fields": 0.0},
        "mpi_size": 1,
        "config_sha256": digest,
        "status": "completed",
    }


def test_case_states_summary_and_plots_from_folders(tmp_path):
    s = expand_study(
        study(
            {"key": "electrodes.0.current_density", "values": [-50.0, -100.0]},
            {"key": "geometry.asperity_height", "values": [0.5, 1.0]},
        )
    )
    write_index(s, tmp_path)
    c0, c1, c2, _ = s.cases
    for case, hotspot in ((c0, 1.5), (c1, 2.0)):
        (tmp_path / case.case_id).mkdir()
        text = json.dumps(fake_metrics(case.digest, hotspot))
        (tmp_path / case.case_id / "metrics.json").write_text(text)
    (tmp_path / c2.case_id).mkdir()
    (tmp_path / c2.case_id / "status.json").write_text('{"status": "failed", "error": "boom"}')
    assert case_state(tmp_path / c0.case_id, c0.digest)[0] == "completed"
    assert case_state(tmp_path / c0.case_id, c1.digest)[0] == "stale"
    assert case_state(tmp_path / c2.case_id, c2.digest) == ("failed", None, "boom")
    table = aggregate(tmp_path)
    assert list(table["status"]) == ["completed", "completed", "failed", "pending"]
    assert list(table.columns[:5]) == [
        "index", "case_id", "current_density", "asperity_height", "status",
    ]  # fmt: skip
    assert table["li.hotspot_index"].iloc[1] == 2.0
    assert table["total_time_s"].iloc[0] == pytest.approx(0.6)
    assert "t_final_s" not in table.columns
    assert table["error"].iloc[2] == "boom"
    on_disk = pd.read_parquet(tmp_path / "summary.parquet")
    pd.testing.assert_frame_equal(on_disk, table)
    assert pd.read_csv(tmp_path / "summary.csv")["li.deposition_max_A_m2"].iloc[0] == 75.0
    plots = [parse_plot("hotspot_index:asperity_height"), parse_plot("dofs:current_density")]
    paths = plot_summary(table, plots, ["current_density", "asperity_height"], tmp_path / "p")
    assert [p.name for p in paths] == [
        "hotspot_index_vs_asperity_height.png",
        "dofs_vs_current_density.png",
    ]
    assert all(p.stat().st_size > 1000 for p in paths)
    with pytest.raises(StudyError, match=r"no cases\.csv"):
        aggregate(tmp_path / "p")


def test_the_example_study_expands():
    s = expand_study(Path(__file__).parents[2] / "examples" / "sweep" / "study.toml")
    assert s.name == "critical_current"
    assert len(s.cases) == 20
    assert s.cases[19].case_id == (
        "case_0019_electrode=bilayer_current_density=-200_asperity_height=1"
    )
    assert s.cases[19].config.electrolyte.conductivity == 0.173
    assert (s.plots[0].metric, s.plots[0].param) == ("hotspot_index", "current_density")


def test_sweep_plots_carry_units_and_log_axes_over_decades():
    import matplotlib.pyplot as plt

    from femli.study.plots import draw_metric

    rows = [
        {"electrode": e, "current_density": c, "li.deposition_max_A_m2": -1.3 * c, "li.cv": 0.1}
        for e in ("bare", "bilayer")
        for c in (-10.0, -100.0, -1000.0)
    ]
    table = pd.DataFrame(rows)
    fig = draw_metric(table, ["li.deposition_max_A_m2"], "current_density", ["electrode"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "|current_density| (mA/cm2)"  # deposition: negative A/m2
    assert ax.get_ylabel() == "deposition max (mA/cm2)"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"  # three decades
    x, y = ax.lines[0].get_data()
    order = np.argsort(x)
    assert list(x[order]) == [1.0, 10.0, 100.0]
    assert list(y[order]) == pytest.approx([1.3, 13.0, 130.0])
    flat = draw_metric(table, ["li.cv"], "electrode", ["current_density"])
    assert flat.axes[0].get_yscale() == "linear" and flat.axes[0].get_ylabel() == "cv (std/mean)"
    plt.close("all")
