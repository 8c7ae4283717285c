"""``python -m indexer --help`` names where the index lives in a process of its own: its text is
made when the command starts, from the variables it starts with."""

from __future__ import annotations

from .conftest import run_indexer


def test_the_help_names_the_user_data_folder_after_the_variable_not_the_variable_twice(tmp_path):
    """With ``$CLIPSEARCH_INDEX`` set, the help said "else $CLIPSEARCH_INDEX, else /srv/x."."""
    home = tmp_path / "home"
    result = run_indexer("--help", env={"CLIPSEARCH_INDEX": "/srv/x", "HOME": str(home),
                                        "XDG_DATA_HOME": str(home / "data")})
    assert result.returncode == 0, result.stderr
    # on Linux the user data folder is $XDG_DATA_HOME/clipsearch, and the index is in it
    line = next(line for line in result.stdout.splitlines() if line.startswith("The index lives in"))
    assert line == f"The index lives in --index, else $CLIPSEARCH_INDEX, else {home / 'data' / 'clipsearch' / 'index'}.", line
    assert "/srv/x" not in result.stdout
