"""``webui.upload_folders``: the folders of the uploads Gradio deletes go with them, and nothing else."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from gradio import route_utils

from webui.upload_folders import install, removing_folders

ONE, TWO, THREE, FOUR = (f"{n:064x}" for n in (1, 2, 3, 4))  # folder names as Gradio's hashes


def gradios() -> object:
    """Gradio's own deletion, whether or not a server launched in this process wrapped it."""
    deletion = route_utils.delete_files_created_by_app
    return getattr(deletion, "__wrapped__", deletion)


def kept(folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"a photo")
    return str(folder / name)


def test_each_deleted_uploads_folder_goes_and_only_those(tmp_path, monkeypatch):
    cache = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    other = tmp_path / "elsewhere"
    files = {
        "upload": kept(cache / ONE, "dropped.jpg"),
        "beside one kept": kept(cache / TWO, "dropped.png"),  # its folder holds a file Gradio keeps
        "kept": kept(cache / TWO, "example.jpg"),
        "not a hash": kept(cache / "examples", "a.jpg"),
        "outside the cache": kept(other / THREE, "b.jpg"),
        "in a component's cache": kept(tmp_path / "component" / FOUR, "c.jpg"),
    }
    component = SimpleNamespace(GRADIO_CACHE=str(tmp_path / "component"), keep_in_cache={files["kept"]})
    blocks = SimpleNamespace(blocks={1: component}, temp_file_sets=[set(files.values())])

    removing_folders(gradios())(blocks, None)

    assert blocks.temp_file_sets == [{files["kept"]}]  # Gradio's own deletion, as before
    assert not (cache / ONE).exists() and not (tmp_path / "component" / FOUR).exists()
    assert sorted(p.name for p in (cache / TWO).iterdir()) == ["example.jpg"]
    assert (cache / "examples").is_dir() and (other / THREE).is_dir()  # emptied, but not Gradio's folders
    assert cache.is_dir()


def test_files_too_young_to_delete_keep_their_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    young = kept(tmp_path / ONE, "just-dropped.jpg")
    blocks = SimpleNamespace(blocks={}, temp_file_sets=[{young}])
    removing_folders(gradios())(blocks, 3600)
    assert Path(young).is_file() and blocks.temp_file_sets == [{young}]


def test_install_wraps_gradios_deletion_once(monkeypatch):
    plain = gradios()
    monkeypatch.setattr(route_utils, "delete_files_created_by_app", plain)
    assert install() is True
    wrapped = route_utils.delete_files_created_by_app
    assert wrapped is not plain and wrapped.removes_folders and wrapped.__wrapped__ is plain
    assert install() is True and route_utils.delete_files_created_by_app is wrapped


def test_a_file_kept_in_two_lists_has_its_folder_removed(tmp_path, monkeypatch):
    """An upload is in Gradio's upload list and in a component's: Gradio's deletion removes it from
    the first and, finding it gone, leaves it in the second (what the server's stop met)."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    upload = kept(tmp_path / ONE, "dropped.jpg")
    blocks = SimpleNamespace(blocks={}, temp_file_sets=[{upload}, {upload}])
    removing_folders(gradios())(blocks, None)
    assert blocks.temp_file_sets == [set(), {upload}]
    assert not (tmp_path / ONE).exists()
