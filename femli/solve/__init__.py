"""Solving: Newton (SNES) with convergence and admissibility checks, linear-solver presets,
the stationary driver (continuation, galvanostatic control) and the BDF time stepping."""

__all__: list[str] = []
