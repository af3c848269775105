"""Deposition growth: the electrode moves with the deposited metal.

``solver`` (the growth step loop), ``options``, ``chemistry`` (the electrochemistry on
the moving mesh), ``motion`` (mesh motion), ``morphology`` (shape measures), ``merge``
(deposits that touch), ``remesh`` (a fresh mesh of the present shape) and ``recorder``
(the run's snapshots, series and moving fields).
"""

__all__: list[str] = []
