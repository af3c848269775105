"""``femli presets``, ``femli builders`` and ``femli schema``: what a case file may name
and contain, printed for people (text) or programs (``--json``), and the JSON Schemas of
case files and of ``metrics.json``. Registered on the ``femli`` command by
:mod:`femli.cli`; rank 0 prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

__all__ = ["builders", "presets", "schema"]


def _rank0() -> bool:
    from mpi4py import MPI

    return MPI.COMM_WORLD.rank == 0


def _value(value: Any, unit: str) -> str:
    text = "-" if value is None else json.dumps(value)
    return f"{text} {unit}" if unit and value is not None else text


def presets(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list of presets)."),
) -> None:
    """Every geometry preset: builder, dimension, description, values (um).

    A case uses one with [geometry] preset = "NAME" (and any parameter to change)."""
    from femli.geometry.catalogue import presets as catalogue

    items = catalogue()
    if not _rank0():
        return
    if as_json:
        typer.echo(json.dumps(items, indent=1))
        return
    for p in items:
        typer.echo(f"{p['name']}  ({p['kind']}, {p['dim']}D)  {p['description']}")
        for key, entry in p["parameters"].items():
            typer.echo(f"    {key} = {_value(entry['value'], entry['unit'])}")
    typer.echo(f"{len(items)} presets; their builders' parameters: femli builders")


def builders(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list of builders)."),
) -> None:
    """Every geometry builder: parameters (type, default, unit) and region names.

    The region names (cells, boundaries) are what a case file's kinetics, bulk and
    regions name; [geometry] kind = "KIND" uses the builder."""
    from femli.geometry.catalogue import builders as catalogue

    items = catalogue()
    if not _rank0():
        return
    if as_json:
        typer.echo(json.dumps(items, indent=1))
        return
    for b in items:
        regions = b["regions"]
        typer.echo(f"{b['kind']}: {b['summary']}")
        typer.echo(f"  cells:      {', '.join(regions['cells'])}")
        walls = ", ".join(regions["boundaries_3d_only"])
        also = f" (3D also: {walls})" if walls else ""
        typer.echo(f"  boundaries: {', '.join(regions['boundaries'])}{also}")
        typer.echo(f"  {'parameter':<22} {'default':<12} {'unit':<22} type")
        for p in b["parameters"]:
            default = "-" if p["default"] is None else json.dumps(p["default"])
            typer.echo(f"  {p['name']:<22} {default:<12} {p['unit'] or '-':<22} {p['type']}")
    typer.echo('A case names one with [geometry] kind = "KIND" and any of its parameters.')


def schema(
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file, not stdout."),
    metrics: bool = typer.Option(False, "--metrics", help="The schema of metrics.json instead."),
    markdown: bool = typer.Option(
        False, "--markdown", help="The case-file sections as Markdown tables (README)."
    ),
) -> None:
    """The JSON Schema of case files (or of metrics.json), for editors and scripts.

    Editors check and complete case files with it: e.g. Even Better TOML (VS Code) reads
    '#:schema ./femli-case.schema.json' on a case file's first line. --metrics: the
    schema of metrics.json (every key, its unit and sign); --markdown: the case-file
    sections as the README's tables."""
    import dolfinx_solver  # noqa: F401  (the case schema names the transport models)

    from femli.case.reference import case_json_schema
    from femli.case.reference import markdown as tables
    from femli.outputs.metrics_format import schema as metrics_schema

    if markdown:
        text = tables()
    else:
        text = json.dumps(metrics_schema() if metrics else case_json_schema(), indent=2) + "\n"
    if not _rank0():
        return
    if output is None:
        typer.echo(text, nl=False)
        return
    from femli.outputs.files import atomic_write_bytes

    atomic_write_bytes(Path(output), text.encode())
    typer.echo(f"wrote {output}")
