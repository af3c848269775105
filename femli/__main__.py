"""``python -m femli``."""

from femli.cli import entry

entry()
