"""``python -m femli``."""

from femli.cli import run

run()
