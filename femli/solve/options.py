"""PETSc solver presets, kept as data.

``direct``: Newton (SNES ``newtonls`` with backtracking) and MUMPS LU.
``iterative``: Newton with GMRES preconditioned by a field split whose blocks
(each concentration, the potential) are solved by PETSc's own algebraic multigrid
(GAMG; hypre is not in the wheel). ``auto`` picks ``direct`` below
:data:`DIRECT_DOF_LIMIT` unknowns, else ``iterative``.
"""

from __future__ import annotations

PRESET_NAMES: tuple[str, ...] = ("auto", "direct", "iterative")

#: Problems with fewer global unknowns than this use the direct preset under ``auto``.
DIRECT_DOF_LIMIT = 150_000

NEWTON: dict[str, object] = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "bt",
    "snes_rtol": 1.0e-10,
    "snes_atol": 1.0e-12,
    "snes_stol": 1.0e-14,
    "snes_max_it": 40,
}

DIRECT: dict[str, object] = {
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
}

ITERATIVE: dict[str, object] = {
    "ksp_type": "gmres",
    "ksp_rtol": 1.0e-9,
    "ksp_atol": 1.0e-14,
    "ksp_max_it": 500,
    "ksp_gmres_restart": 100,
    "pc_type": "fieldsplit",
    "pc_fieldsplit_type": "multiplicative",
}

#: Options for each block of the iterative field split.
SPLIT_BLOCK: dict[str, object] = {
    "ksp_type": "preonly",
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}

#: Single-field problems under the iterative preset.
SCALAR_ITERATIVE: dict[str, object] = {
    "ksp_type": "gmres",
    "ksp_rtol": 1.0e-10,
    "ksp_max_it": 500,
    "pc_type": "gamg",
}


def resolve(preset: str, num_dofs: int) -> str:
    """The concrete preset (``direct`` or ``iterative``) for ``preset`` and problem size."""
    if preset not in PRESET_NAMES:
        raise ValueError(f"solver preset {preset!r} is not one of {list(PRESET_NAMES)}")
    if preset == "auto":
        return "direct" if num_dofs < DIRECT_DOF_LIMIT else "iterative"
    return preset


def petsc_options(preset: str, num_fields: int, overrides: dict | None = None) -> dict:
    """Full PETSc option dict (without prefix) for a concrete preset."""
    options = dict(NEWTON)
    if preset == "direct":
        options.update(DIRECT)
    elif num_fields == 1:
        options.update(SCALAR_ITERATIVE)
    else:
        options.update(ITERATIVE)
        for k in range(num_fields):
            options.update({f"fieldsplit_{k}_{key}": v for key, v in SPLIT_BLOCK.items()})
    options.update(overrides or {})
    return options
