"""``python -m femli``."""

from femli.cli import entry

__all__: list[str] = []

entry()
