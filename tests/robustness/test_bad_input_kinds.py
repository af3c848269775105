"""Kinds of malformed input that once gave a traceback, a hang or a misleading line: file
encodings, deep nesting, huge lists and values, booleans as numbers, lengths in metres,
ignored keys; each now gives exit code 2 and at most three short lines naming the key,
serially and under mpiexec, and ``femli check`` reports every problem in one pass."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import gmsh
import pytest
import tomli_w
from mpi4py import MPI
from shared_cases import TINY
from test_bad_input import assert_clean_error, femli, serial, time_limit, write_case

from femli.case.checks import load_case, parse_case
from femli.case.preflight import check_file
from femli.geometry import build, gmsh_session, write_msh
from femli.messages import MAX_LINE, ConfigError, bounded, shorten
from femli.pipeline import run_case

pytestmark = serial


def case_bytes(change=None) -> bytes:
    data = copy.deepcopy(TINY)
    if change is not None:
        change(data)
    return tomli_w.dumps(data).encode()


def check_problems(path: Path) -> list[str]:
    """The problems ``femli check`` reports for ``path`` (in-process)."""
    with pytest.raises(ConfigError) as info:
        check_file(path, MPI.COMM_WORLD)
    assert info.value.source == str(path)
    return info.value.problems


def set_at(path: tuple, value):
    """A change setting ``value`` at ``path`` in the case (creating tables on the way)."""

    def change(data):
        parent = data
        for key in path[:-1]:
            parent = parent.setdefault(key, {}) if isinstance(key, str) else parent[key]
        parent[path[-1]] = value

    return change


def geometry(kind: str, boundary: str, **params):
    """A change to a builder ``kind`` whose electrode is the ``boundary`` it names."""

    def change(data):
        data["geometry"] = {"kind": kind, **params}
        kinetics = data["electrodes"][0]["kinetics"]
        kinetics[boundary] = kinetics.pop("electrode")

    return change


def box_mesh(folder: Path, name: str, scale: float = 1.0) -> None:
    """The tiny case's box as a ``.msh`` file, its coordinates multiplied by ``scale``."""
    with gmsh_session():
        build("box", dim=2, h_far=2.5, h_electrode=1.0)
        if scale != 1.0:
            gmsh.model.mesh.affineTransform([scale, 0, 0, 0, 0, scale, 0, 0, 0, 0, scale, 0])
        write_msh(folder / name)
        gmsh.clear()


KINETICS = ("electrodes", 0, "kinetics", "electrode")
MESH = {"mesh": "box.msh"}

#: (name, file bytes or a change of the tiny case, a text every problem line contains).
CORPUS = [
    ("latin1_comment", case_bytes() + "# caf\xe9\n".encode("latin-1"), "line 30"),
    ("binary_junk", bytes(range(256)) * 4, "not UTF-8"),
    ("utf16", "name = 'x'\n".encode("utf-16"), "UTF-16"),
    ("deep_arrays", b"x = " + b"[" * 3000 + b"]" * 3000, "nested too deeply"),
    ("deep_tables", b"x = " + b"{a=" * 1000 + b"}" * 1000, "not valid TOML"),
    ("huge_integer", case_bytes() + b"seed = " + b"9" * 5000 + b"\n", "not valid TOML"),
    ("unclosed", b"name = [unclosed\n", "not valid TOML"),
    ("empty_file", b"", "missing required key"),
    ("i0_true", set_at((*KINETICS, "exchange_current"), True), "exchange_current = true"),
    ("alpha_false", set_at((*KINETICS, "alpha_a"), False), "alpha_a"),
    ("current_string", set_at(("electrodes", 0, "current_density"), "-50"), "current_density"),
    ("steps_float", set_at(("solver", "max_continuation_steps"), 16.0), "max_continuation"),
    ("steps_true", set_at(("solver", "max_continuation_steps"), True), "max_continuation"),
    ("renders_int", set_at(("output", "renders"), 1), "renders"),
    ("temperature_nan", set_at(("electrolyte", "temperature"), float("nan")), "temperature"),
    ("temperature_true", set_at(("electrolyte", "temperature"), True), "temperature"),
    ("model_unknown", set_at(("electrolyte", "model"), "quaternary"), "electrolyte.model"),
    ("unknown_top_key", set_at(("colour",), "blue"), "colour"),
    ("growth_charge", set_at(("growth",), {"t_end": 1.0, "charge": 10**30}), "growth.charge"),
    ("boundary_typo", set_at(("bulk", 0, "boundaries"), ["blk"]), "bulk[0].boundaries"),
    ("no_reference", set_at(("bulk",), []), "bulk"),
    ("named_twice", set_at(("bulk", 0, "boundaries"), ["electrode"]), "boundaries"),
    ("cell_region", set_at(("electrolyte", "regions"), [{"region": "coat"}]), "regions[0]"),
    ("two_controls", set_at(("electrodes", 0, "potential"), -0.1), "electrodes[0]"),
    ("no_kinetics", set_at(("electrodes", 0, "kinetics"), {}), "kinetics"),
    ("time_and_growth", lambda d: d.update(time={"t_end": 1.0}, growth={"t_end": 1.0}), "[time]"),
    ("checkpoint_alone", set_at(("output", "checkpoint_interval"), 2), "checkpoint_interval"),
    ("width_metres", set_at(("geometry", "width"), 1e-5), "width"),
    ("h_far_metres", set_at(("geometry", "h_far"), 2.5e-6), "h_far"),
    ("seed_negative", set_at(("geometry", "seed"), -1), "seed"),
    ("count_true", set_at(("geometry", "count"), True), "count"),
    ("width_string", set_at(("geometry", "width"), "ten"), "width"),
    ("width_inf", set_at(("geometry", "width"), float("inf")), "width"),
    ("width_huge_int", set_at(("geometry", "width"), 10**30), "width"),
    ("param_typo", set_at(("geometry", "widht"), 5.0), "widht"),
    ("dim_4", set_at(("geometry", "dim"), 4), "dim"),
    ("preset_typo", set_at(("geometry",), {"preset": "seed000_ridj"}), "seed000_ridj"),
    ("preset_kind", set_at(("geometry",), {"preset": "seed000_ridge", "kind": "box0"}), "kind"),
    ("mesh_and_builder", set_at(("geometry", "mesh"), "box.msh"), "mesh"),
    ("mesh_missing", set_at(("geometry",), {"mesh": "none.msh"}), "geometry.mesh"),
    ("mesh_is_folder", set_at(("geometry",), {"mesh": "folder"}), "is a directory"),
    ("mesh_empty", set_at(("geometry",), {"mesh": "empty.msh"}), "no mesh elements"),
    ("mesh_garbage", set_at(("geometry",), {"mesh": "garbage.msh"}), "geometry.mesh"),
    ("mesh_in_metres", set_at(("geometry",), {"mesh": "metres.msh"}), "metres"),
    ("nuclei_billion", geometry("nucleus_array", "nuclei", count=10**9), "count"),
    ("fibres_wide", geometry("fibre_mat", "electrode", width=1e9), "geometry"),
    ("voids_tiny", geometry("void_contact", "contact", void_size=1e-9), "void_size"),
    ("voids_seed", geometry("void_contact", "contact", seed=-3), "seed"),
    ("layers_seed", geometry("layered_stack", "electrode", seed=-3), "seed"),
]


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory) -> Path:
    """A folder with the mesh files the corpus refers to."""
    folder = tmp_path_factory.mktemp("corpus")
    box_mesh(folder, "box.msh")
    box_mesh(folder, "metres.msh", scale=1e-6)
    (folder / "empty.msh").write_bytes(b"")
    (folder / "garbage.msh").write_text("$MeshFormat\n4.1 0 8\ngarbage\n")
    (folder / "folder").mkdir()
    return folder


@pytest.mark.parametrize(("name", "content", "key"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_of_malformed_cases(corpus_folder, name, content, key):
    """Each malformed case: ConfigError from `femli check`, 1 to 3 short lines, each
    naming the key (or the line of the file) that is wrong."""
    path = corpus_folder / f"{name}.toml"
    path.write_bytes(content if isinstance(content, bytes) else case_bytes(content))
    with time_limit(20):
        found = check_problems(path)
    assert 1 <= len(found) <= 3, found
    for line in found:
        assert key in line and len(line) <= MAX_LINE, line


# -- reading -----------------------------------------------------------------------------------
def test_a_byte_order_mark_is_accepted_and_a_folder_is_not_missing(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + case_bytes())
    assert load_case(path).name == "tiny"
    (tmp_path / "case.toml").mkdir()
    (message,) = check_problems(tmp_path / "case.toml")
    assert message == f"case file {str(tmp_path / 'case.toml')!r} is a directory, not a file"


def test_a_latin1_byte_is_located(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "tiny"\n# r\xe9sum\xe9\n')
    (message,) = check_problems(path)
    assert message.startswith("not UTF-8 text: byte 0xe9 at line 2, column 4")


def test_nesting_too_deep_in_data_given_to_parse_case():
    nested: list = [1.0]
    for _ in range(20_000):
        nested = [nested]
    with pytest.raises(ConfigError) as info:
        parse_case(copy.deepcopy(TINY) | {"name": nested})
    (message,) = info.value.problems
    assert message.startswith("name = [[[[...]]]]") and len(message) < 100


def test_a_value_where_a_table_belongs_is_one_problem_in_user_words(tmp_path):
    path = write_case(tmp_path, _changed(("electrodes", 0, "kinetics"), "abc"))
    assert check_problems(path) == [
        "electrodes[0].kinetics = 'abc': expected a table (a [section] or { key = value, ... })"
    ]
    (message,) = check_problems(write_case(tmp_path, _changed(("geometry",), 11)))
    assert message.startswith("geometry = 11: expected a table") and "Config" not in message


# -- scale: linear time, bounded messages ------------------------------------------------------
def test_100000_boundary_names_validate_in_seconds_into_one_line(tmp_path):
    names = [f"b{i}" for i in range(100_000)]
    path = tmp_path / "many.toml"
    path.write_bytes(case_bytes(set_at(("bulk", 0, "boundaries"), names)))
    start = time.perf_counter()
    with time_limit(30):
        (message,) = check_problems(path)
    assert time.perf_counter() - start < 15
    assert message.startswith("bulk[0].boundaries: the geometry has no boundary regions ['b0',")
    assert "(100000 items)" in message and len(message) < MAX_LINE
    twice = copy.deepcopy(TINY)
    twice["bulk"] = [{"boundaries": names}, {"boundaries": names}]
    with time_limit(30), pytest.raises(ConfigError) as info:
        parse_case(twice)
    (message,) = info.value.problems
    assert "boundaries named by more than one condition: ['b0', 'b1'," in message


def test_many_similar_problems_become_one_line():
    data = copy.deepcopy(TINY)
    data["bulk"][0]["boundaries"] = list(range(10_001))
    data["electrolyte"] |= {f"key{i}": 1 for i in range(10_001)}
    with pytest.raises(ConfigError) as info:
        parse_case(data)
    keys, boundaries = info.value.problems
    assert boundaries.startswith("bulk[0].boundaries[0] = 0: Input should be a valid string")
    assert "[and 10000 more like it: bulk[0].boundaries[1]," in boundaries
    assert keys.startswith("unknown keys in 'electrolyte': 'key0', 'key1', 'key2' and 9998 more")


def test_huge_values_are_shortened_and_problem_lists_bounded():
    data = copy.deepcopy(TINY)
    data["electrodes"][0]["kinetics"]["electrode"]["exchange_current"] = [1.0] * 1_000_000
    with pytest.raises(ConfigError) as info:
        parse_case(data)
    (message,) = info.value.problems
    assert "[1.0, 1.0, " in message and "... (1000000 items)]" in message
    assert len(message) < 200
    assert shorten("x" * 10**6) == repr("x" * 30) + "... (1000000 characters)"
    assert shorten(10**5000) == "an integer of 5001 digits" and shorten(True) == "true"
    lines = bounded([f"region {word!r} is unknown" for word in ("a", "b", "c", "d", "e")])
    assert lines == ["region 'a' is unknown [and 4 more like it: 'b', 'c', 'd', ...]"]
    assert len(bounded([f"problem {w}" for w in "abcdefghijklmnopqrstuvwxyz"])) == 20


# -- types and ranges --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ((*KINETICS, "exchange_current"), True),
        (("electrolyte", "temperature"), True),
        (("electrolyte", "transference"), False),
        (("bulk", 0, "potential"), True),
        (("solver", "max_continuation_steps"), 8.0),
        (
            ("electrolyte", "species"),
            [{"name": "Li+", "charge": True, "diffusivity": 1e-9, "concentration": 1.0}],
        ),
    ],
)
def test_booleans_are_not_numbers_and_floats_not_integers(path, value):
    with pytest.raises(ConfigError) as info:
        parse_case(_changed(path, value))
    (message,) = info.value.problems
    assert "Input should be a valid" in message


def _changed(path: tuple, value) -> dict:
    data = copy.deepcopy(TINY)
    set_at(path, value)(data)
    return data


def test_charge_numbers_are_bounded():
    species = [
        {"name": "A+", "charge": 11, "diffusivity": 1e-9, "concentration": 1.0},
        {"name": "B-", "charge": -(10**30), "diffusivity": 1e-9, "concentration": 1.0},
    ]
    with pytest.raises(ConfigError) as info:
        parse_case(_changed(("electrolyte", "species"), species))
    assert info.value.problems == [
        "electrolyte.species[0].charge = 11: the charge number must be a non-zero integer "
        "from -10 to 10",
        "electrolyte.species[1].charge = -1e+30: the charge number must be a non-zero integer "
        "from -10 to 10",
    ]


# -- one pass ----------------------------------------------------------------------------------
def test_check_reports_six_mistakes_in_six_sections_in_one_pass(tmp_path):
    data = copy.deepcopy(TINY)
    data["colour"] = "blue"  # 1: unknown key
    data["geometry"]["seed"] = -1  # 2: builder parameter
    data["electrolyte"]["temperature"] = -5.0  # 3: range
    data["electrodes"][0]["kinetics"] = {"electrod": {"exchange_current": True}}  # 4, 5
    data["bulk"][0]["boundaries"] = ["blk"]  # 6: region name
    data["solver"]["preset"] = "fast"  # 7: choice
    found = check_problems(write_case(tmp_path, data))
    for key in (
        "unknown key 'colour'",
        "seed=-1",
        "electrolyte.temperature = -5.0",
        "exchange_current = true",
        "no boundary region named 'electrod'",
        "no boundary region named 'blk'",
        "solver.preset = 'fast'",
    ):
        assert sum(key in line for line in found) == 1, (key, found)
    assert len(found) == 7


def test_builder_keys_beside_a_mesh_file_are_reported(tmp_path):
    box_mesh(tmp_path, "box.msh")
    data = copy.deepcopy(TINY)
    data["geometry"] = {"mesh": "box.msh", "preset": "seed000_ridge", "h_far": 1.0}
    (message,) = check_problems(write_case(tmp_path, data))
    assert message.startswith("geometry: mesh = 'box.msh' is a whole geometry")
    assert "['preset', 'h_far'] would be ignored" in message
    data["geometry"] = {"mesh": "box.msh"}
    assert check_file(write_case(tmp_path, data)).geometry.mesh == "box.msh"


# -- labels and MPI ------------------------------------------------------------------------------
def test_run_labels_preflight_problems_with_the_case_file(tmp_path):
    path = write_case(tmp_path, _changed(("bulk", 0, "boundaries"), ["top"]))
    with pytest.raises(ConfigError) as info:
        run_case(load_case(path), tmp_path / "out", MPI.COMM_WORLD, tmp_path)
    assert info.value.source == str(path)
    result = femli("run", str(path), "-o", "out", cwd=tmp_path)
    stderr = assert_clean_error(result)
    assert f"error: {path}: 1 problem(s)" in stderr and "config:" not in stderr


def test_cli_check_latin1_and_metres_mesh(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(case_bytes() + "# caf\xe9\n".encode("latin-1"))
    stderr = assert_clean_error(femli("check", str(path), cwd=tmp_path))
    assert "not UTF-8 text: byte 0xe9 at line 30" in stderr
    box_mesh(tmp_path, "metres.msh", scale=1e-6)
    metres = write_case(tmp_path, _changed(("geometry",), {"mesh": "metres.msh"}), "m.toml")
    for args in (["check", str(metres)], ["run", str(metres), "-o", "out"]):
        stderr = assert_clean_error(femli(*args, cwd=tmp_path))
        assert "femli reads .msh coordinates in micrometres" in stderr
        assert f"error: {metres}: 1 problem(s)" in stderr  # the case file, in both


def test_under_mpiexec_one_message_and_exit_2_on_every_rank(tmp_path):
    path = tmp_path / "binary.toml"
    path.write_bytes(bytes(range(256)))
    stderr = assert_clean_error(femli("check", str(path), cwd=tmp_path, mpi=2))
    assert stderr.count("not UTF-8 text") == 1
    codes = {p.name: p.read_text() for p in tmp_path.glob("exit_*")}
    assert codes == {"exit_0": "2", "exit_1": "2"}
    names = [f"b{i}" for i in range(10_001)]
    many = write_case(tmp_path, _changed(("bulk", 0, "boundaries"), names))
    result = femli("run", str(many), "-o", "out", cwd=tmp_path, mpi=2)
    stderr = assert_clean_error(result)
    assert len(stderr.strip().splitlines()) == 2  # the header and one line


def test_a_failed_solve_under_mpiexec_says_so_once(tmp_path):
    data = _changed(("electrodes", 0, "current_density"), -2.0e4)  # twice the limiting current
    data["solver"]["max_continuation_steps"] = 6
    result = femli("run", str(write_case(tmp_path, data)), "-o", "out", cwd=tmp_path, mpi=2)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("last converged state saved") == 1, result.stderr
    assert result.stderr.count("error: ") == 1 and "Traceback" not in result.stderr
