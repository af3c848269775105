"""Discovering inputs: ``femli presets``, ``femli builders``, ``femli schema``, the help
texts, and the README's case-file reference."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
from typer.models import ArgumentInfo, OptionInfo
from typer.testing import CliRunner

from femli.case.reference import case_json_schema, markdown
from femli.cli import app
from femli.geometry.registry import BUILDERS, PRESET_DIR, list_presets
from femli.outputs.metrics_format import schema as metrics_schema

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def flat(text: str) -> str:
    return " ".join(text.split())


def test_every_help_text_is_shown_as_written():
    """Help texts are plain text: '[time]', '[growth]' and '[STUDY_FOLDER/...]' were read
    as markup and dropped ('Continue from the folder's last checkpoint (, )')."""
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__
        shown = flat(invoke(name, "--help"))
        for param in inspect.signature(command.callback).parameters.values():
            info = param.default
            if isinstance(info, OptionInfo | ArgumentInfo) and info.help:
                assert flat(info.help) in shown, (name, param.name)
        doc = inspect.getdoc(command.callback) or ""
        assert flat(doc.split("\n\n")[0]) in shown, name
        assert "(, )" not in shown and "<bool>" not in shown, name
    assert "last checkpoint ([time], [growth])" in flat(invoke("run", "--help"))


def test_presets_lists_every_preset_with_units():
    items = json.loads(invoke("presets", "--json"))
    assert [p["name"] for p in items] == list_presets()
    by_name = {p["name"]: p for p in items}
    bare = by_name["seed003_bare_li"]
    assert (bare["kind"], bare["dim"]) == ("nucleus_array", 3)
    assert bare["parameters"]["diameter"] == {"value": 0.55, "unit": "um"}
    assert bare["parameters"]["contact_angle"]["unit"] == "deg"
    for p in items:  # every value the preset file gives, and only those
        given = tomllib.loads((PRESET_DIR / f"{p['name']}.toml").read_text())
        assert set(p["parameters"]) == set(given) - {"kind", "description"}
        assert p["description"] == given["description"]
    text = invoke("presets")
    for p in items:
        assert re.search(rf"^{p['name']}  \({p['kind']}, {p['dim']}D\)", text, re.M)
    assert "    diameter = 0.55 um" in text


def test_builders_lists_parameters_defaults_units_and_regions():
    items = json.loads(invoke("builders", "--json"))
    assert [b["kind"] for b in items] == sorted(BUILDERS)
    for b in items:
        cls = BUILDERS[b["kind"]][0]
        fields = dataclasses.fields(cls)
        assert [p["name"] for p in b["parameters"]] == [f.name for f in fields]
        assert [p["default"] for p in b["parameters"]] == [f.default for f in fields]
        names = cls.REGION_NAMES
        listed = b["regions"]["boundaries"] + b["regions"]["boundaries_3d_only"]
        assert (b["regions"]["cells"], sorted(listed)) == (list(names.cells), sorted(names.facets))
    by_kind = {b["kind"]: {p["name"]: p for p in b["parameters"]} for b in items}
    box = by_kind["box"]
    assert by_kind["annulus"]["angle_end"]["unit"] == "deg"
    assert by_kind["interval"]["length_um"]["unit"] == "um"
    assert box["width"] == {"name": "width", "type": "number", "default": 10.0, "unit": "um"}
    assert box["h_feature"]["type"] == "number | none"
    text = invoke("builders")
    assert "box: Electrolyte box over an electrode surface" in text
    assert re.search(r"^  width\s+10\.0\s+um\s+number$", text, re.M)
    assert re.search(r"^  boundaries: electrode, bulk, wall_left, wall_right \(3D also", text, re.M)
    assert re.search(r"^  boundaries: inner, outer, side_start, side_end$", text, re.M)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_builder_parameter_declares_its_unit(kind):
    """A parameter added without a unit (UNITS of its class) fails here."""
    cls = BUILDERS[kind][0]
    assert set(cls.UNITS) == {f.name for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(cls):
        if f.name.startswith("h_") or f.name.endswith(("width", "height", "thickness")):
            assert cls.UNITS[f.name] == "um", f.name


def case_files() -> list[Path]:
    """Every case file of the package and examples (files with a [geometry] table)."""
    paths = sorted((ROOT / "femli" / "demo_cases").rglob("*.toml"))
    paths += sorted((ROOT / "examples").rglob("*.toml"))
    return [p for p in paths if "geometry" in tomllib.loads(p.read_text())]


def test_schema_is_the_case_json_schema_editors_check_files_with(tmp_path):
    target = tmp_path / "femli-case.schema.json"
    assert "wrote" in invoke("schema", "-o", str(target))
    written = json.loads(target.read_text())
    assert written == case_json_schema()
    validator = jsonschema.Draft202012Validator(written)
    validator.check_schema(written)
    files = case_files()
    assert len(files) > 30
    for path in files:  # every case file femli ships fits it
        errors = list(validator.iter_errors(tomllib.loads(path.read_text())))
        assert not errors, (path, errors[0].message)
    electrode = written["$defs"]["ElectrodeConfig"]["properties"]
    assert electrode["current_density"]["anyOf"][0]["unit"] == "A/m2"
    assert written["$defs"]["GeometryConfig"]["properties"]["width"]["unit"] == "um"
    units = {"name": "x", "geometry": {"kind": "box", "width": "10 um"}, "electrodes": []}
    units["electrodes"] = [
        {"current_density": "-10 mA/cm2", "kinetics": {"electrode": {"exchange_current": 30}}}
    ]
    assert not list(validator.iter_errors(units))
    units["electrodes"][0]["current_densty"] = 1.0  # a typo
    assert "current_densty" in next(validator.iter_errors(units)).message
    assert json.loads(invoke("schema", "--metrics")) == metrics_schema()


def test_readme_documents_every_case_file_section_as_the_schema_says():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- case-reference:start -->\n")[1].split("<!-- case-reference:end -->")
    assert block[0] == markdown() == invoke("schema", "--markdown")
    for heading in ("[electrolyte]", "[[electrodes]]", "[growth]", "[output]", "[time]"):
        assert f"**{heading}**" in block[0]
    assert "| `current_density` | A/m2 | - |" in block[0]


def test_readme_lists_every_file_a_run_writes():
    """Each name femli may write in a case folder (stationary, [time] and [growth] runs,
    checkpoints), electrode and time written as placeholders, is in the README's output
    tables (`electrode_*.png`, `provenance.json` were missing once)."""
    import copy

    from shared_cases import GROWTH, TINY

    from femli.case.checks import parse_case
    from femli.pipeline import output_names

    readme = (ROOT / "README.md").read_text()
    section = readme.split("each case folder holding:")[1].split("and each `compare_*` folder")[0]
    cases = [copy.deepcopy(TINY), copy.deepcopy(TINY) | {"time": {"t_end": 0.2}}]
    cases.append(tomllib.loads(GROWTH))
    names = set()
    for data in cases:
        data["output"] = {"renders": True, "fields": True}
        names.update(output_names(parse_case(data), restart=True))
    listed = {n for n in names if not n.endswith((".tmp", ".old"))}
    assert {"electrode_li.gif", "growth_series.csv", "checkpoint", "status.json"} <= listed
    for name in sorted(listed):
        shown = name.replace("_li", "_<electrode>").replace("_t*.png", "_t<t>s.png")
        shown += "/" if "." not in name else ""
        stem = shown.rsplit(".", 1)[0]  # a picture listed with its table: `x.csv` / `.png`
        assert f"`{shown}`" in section or f"`{stem}.csv` / `.png`" in section, shown
