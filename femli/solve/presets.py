"""PETSc solver presets, kept as data.

``direct``: Newton (SNES ``newtonls`` with backtracking) and MUMPS LU.
``iterative``: Newton with GMRES right-preconditioned by a multiplicative field split
(block Gauss-Seidel over a nested block matrix, concentrations first, the potential
last) whose blocks are each solved by one V-cycle of PETSc's own smoothed-aggregation
multigrid (GAMG; hypre is not in the wheel). The aggregation graph drops weak couplings
(``pc_gamg_threshold``), which keeps the Krylov iterations per Newton step flat under
refinement of the graded nucleus meshes (measured in ``benchmarks/``); without it they
grow by about 30 % per halving of h. Single-field problems (primary, secondary, the
potential alone) use GMRES + the same GAMG. The preconditioner is rebuilt on the first
Newton step of every solve and then every :data:`PRECONDITIONER_LAG` steps (GAMG keeps
its interpolation between rebuilds and only recomputes the coarse operators).

``auto`` picks ``direct`` below :data:`DIRECT_DOF_LIMIT` (3D) or
:data:`DIRECT_DOF_LIMIT_2D` (2D) global unknowns, else ``iterative``; the limits are
the measured crossovers of the two presets (``benchmarks/crossover.py``).
"""

from __future__ import annotations

__all__ = [
    "CHORD_STEP",
    "DIRECT",
    "DIRECT_DOF_LIMIT",
    "DIRECT_DOF_LIMIT_2D",
    "DIRECT_FALLBACK_LIMIT",
    "GAMG",
    "ITERATIVE",
    "KRYLOV",
    "NEWTON",
    "PRECONDITIONER_LAG",
    "PRESET_NAMES",
    "SCALAR_ITERATIVE",
    "SPLIT_BLOCK",
    "WARM_JACOBIAN_EVERY",
    "direct_limit",
    "direct_overrides",
    "petsc_options",
    "resolve",
]

PRESET_NAMES: tuple[str, ...] = ("auto", "direct", "iterative")

#: 3D (and unknown dimension): fewer global unknowns than this use ``direct`` under ``auto``.
#: Measured (tertiary stationary solve, serial): the iterative preset is already 1.7x
#: faster at 12 k unknowns and 2.8x at 78 k; MUMPS is kept below for its robustness where
#: it costs well under a second.
DIRECT_DOF_LIMIT = 10_000

#: 2D: iterative 1.4x faster at 11 k unknowns, 2.2x at 44 k, 2.5x at 690 k.
DIRECT_DOF_LIMIT_2D = 20_000

#: Rebuild the iterative preconditioner every this many Newton steps within a solve.
PRECONDITIONER_LAG = 3

#: A chord step (:meth:`~femli.solve.newton.Newton.chord`) follows only a Newton step of
#: at most this scaled size: it contracts by about c x that size (c ~ 0.5 measured on the
#: seed 003 array: steps 2.5e-5 then 3e-10), enough to end the solve at the 1e-10 step test.
CHORD_STEP = 1.0e-4

#: A warm-started solve (a growth step's, from the shape before; a time step's, from the
#: step before) builds its Jacobian every this many Newton steps. A growth step's steps
#: shrink 1e5-fold (3e-5, 3e-10 on the seed 003 array): the second step with the first
#: Jacobian lands as near, and skips an assembly (40 % of a Newton step there).
WARM_JACOBIAN_EVERY = 2

#: A Newton solve whose linear solves fail under the iterative preset (after a retry with
#: the preconditioner rebuilt at every step) is retried with MUMPS up to this many
#: global unknowns (MUMPS needs about 2 GB at 260 k unknowns in 3D: beyond, the failure
#: goes to the caller's step cuts and continuation).
DIRECT_FALLBACK_LIMIT = 300_000

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

#: The GAMG set-up shared by every field block and by single-field problems.
GAMG: dict[str, object] = {
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "pc_gamg_threshold": 0.02,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}

#: Outer Krylov method of the iterative presets. ``ksp_rtol`` at 1e-9 keeps Newton
#: quadratic; looser values cost an extra Newton step (an extra Jacobian assembly), which
#: is dearer than the Krylov iterations. Multi-field problems precondition from the right
#: (:data:`ITERATIVE`), so that 1e-9 holds for the true residual.
KRYLOV: dict[str, object] = {
    "ksp_type": "gmres",
    "ksp_rtol": 1.0e-9,
    "ksp_atol": 1.0e-14,
    "ksp_max_it": 500,
    "ksp_gmres_restart": 100,
}

ITERATIVE: dict[str, object] = {
    **KRYLOV,
    # right preconditioning: ksp_rtol bounds the true Newton residual, not the
    # preconditioned one (which, with concentration and potential rows of different
    # scales, left the residual after a Newton step ~1e-6 instead of 1e-9 of the step's
    # initial residual, and cost a third Newton step: a Jacobian assembly and a solve)
    "ksp_pc_side": "right",
    "snes_lag_preconditioner": PRECONDITIONER_LAG,
    "pc_type": "fieldsplit",
    "pc_fieldsplit_type": "multiplicative",
}

#: Options for each block of the iterative field split.
SPLIT_BLOCK: dict[str, object] = {"ksp_type": "preonly", **GAMG}

#: Single-field problems under the iterative preset.
SCALAR_ITERATIVE: dict[str, object] = {
    **KRYLOV,
    "ksp_rtol": 1.0e-10,
    "snes_lag_preconditioner": PRECONDITIONER_LAG,
    **GAMG,
}


def direct_limit(dim: int | None = None) -> int:
    """Global unknowns below which ``auto`` picks ``direct`` for a mesh of dimension ``dim``."""
    return DIRECT_DOF_LIMIT_2D if dim is not None and dim <= 2 else DIRECT_DOF_LIMIT


def resolve(preset: str, num_dofs: int, dim: int | None = None) -> str:
    """The concrete preset (``direct`` or ``iterative``) for ``preset`` and problem size."""
    if preset not in PRESET_NAMES:
        raise ValueError(f"solver preset {preset!r} is not one of {list(PRESET_NAMES)}")
    if preset == "auto":
        return "direct" if num_dofs < direct_limit(dim) else "iterative"
    return preset


def direct_overrides(overrides: dict | None) -> dict:
    """The options of ``overrides`` that a direct solve keeps (Newton's, not the Krylov
    method's or the preconditioner's)."""
    dropped = ("ksp_", "pc_", "fieldsplit_", "mg_", "snes_lag_")
    return {k: v for k, v in (overrides or {}).items() if not k.startswith(dropped)}


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
