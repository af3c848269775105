"""What a run writes: metrics, tables, fields, pictures, status, and the output folder
they go in (written atomically; femli deletes only what it wrote)."""

__all__: list[str] = []
