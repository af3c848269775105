"""The manifest of an output folder (femli.outputs.folder)."""

from __future__ import annotations

from femli.outputs.folder import Manifest


def test_foreign_lists_paths_inside_the_folder_never_the_folder_itself(tmp_path):
    """A pattern that also matches the folder ("**" does) names only what is in it."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("the user's")
    assert Manifest(tmp_path).foreign(["**", "*"]) == ["notes.txt", "sub"]
