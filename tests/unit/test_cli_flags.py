"""The library's errors speak its own terms; ``cli.flags.explain`` adds the flags that help on a terminal."""

from __future__ import annotations

import json
import sqlite3

import pytest

from cli import flags
from clipsearch import (
    DeviceUnavailable,
    IndexNotFound,
    IndexUnusable,
    ModelMismatch,
    ModelUnavailable,
    StoreMismatch,
    StoreWriteError,
)
from clipsearch.config import hub_offline
from clipsearch.stores import HnswStore, open_store, resolve_kind
from clipsearch.stores.layout import DB_NAME, POINTER_NAME
from indexer.cli import main as indexer_main

STAMP = {"model": "fake", "pretrained": None, "dim": 4, "image_size": 32, "preprocess": {}}


def test_no_index_is_said_in_library_terms_and_the_edge_says_how_to_build_one(tmp_path):
    folder = tmp_path / "nowhere"
    with pytest.raises(IndexNotFound) as error:
        HnswStore.open(folder)
    assert str(error.value) == f"no index in {folder}" and error.value.location == folder
    assert flags.explain(error.value) == (f"no index in {folder}: build one with "
                                          f"`python -m indexer FOLDER --index {folder}`")
    with pytest.raises(IndexNotFound) as error:
        HnswStore.read_stamp(folder)
    assert "--" not in str(error.value) and f"--index {folder}" in flags.explain(error.value)


def test_an_index_folder_that_is_a_file_or_cannot_be_made_is_said_before_anything_loads(tmp_path, capsys):
    in_the_way = tmp_path / "photos.jpg"
    in_the_way.write_bytes(b"not a folder")
    for create in (False, True):
        with pytest.raises(IndexUnusable, match=f"^{in_the_way} is a file, not an index folder$"):
            open_store(in_the_way, STAMP, create=create)
    with pytest.raises(IndexUnusable, match=f"^cannot make the index folder {in_the_way / 'index'}: "):
        open_store(in_the_way / "index", STAMP, create=True)
    # the front ends say which flag helps, and stop with an error, never a traceback
    assert indexer_main([str(tmp_path), "--index", str(in_the_way), "--model", "demo"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {in_the_way} is a file, not an index folder (name another folder with --index)")
    assert in_the_way.read_bytes() == b"not a folder"


def test_a_milvus_file_whose_folder_cannot_be_made_names_the_file_not_the_index(tmp_path):
    pytest.importorskip("pymilvus")
    in_the_way = tmp_path / "db"
    in_the_way.write_bytes(b"not a folder")
    with pytest.raises(StoreWriteError, match=f"^cannot make the folder of the Milvus file {in_the_way / 'photos.db'}: "):
        open_store(tmp_path / "index", STAMP, create=True, kind="milvus", uri=str(in_the_way / "photos.db"))


def test_a_missing_milvus_collection_gets_the_milvus_flags():
    error = IndexNotFound("no index in Milvus at http://db:19530 (collection photos)", uri="http://db:19530#photos")
    assert flags.explain(error).endswith(
        "build one with `python -m indexer FOLDER --store milvus --milvus-uri http://db:19530#photos`")


def test_asking_for_another_store_than_the_folder_holds(tmp_path):
    milvus = tmp_path / "milvus-index"
    milvus.mkdir()
    (milvus / POINTER_NAME).write_text(json.dumps({"kind": "milvus", "uri": str(milvus / "a.db")}))
    with pytest.raises(StoreMismatch) as error:
        resolve_kind(milvus, "milvus", str(tmp_path / "b.db"))
    assert error.value.recorded == "milvus" and "--" not in str(error.value)
    assert "(omit --milvus-uri, or index into another folder with --index)" in flags.explain(error.value)

    local = tmp_path / "local-index"
    local.mkdir()
    (local / DB_NAME).touch()
    with pytest.raises(StoreMismatch) as error:
        resolve_kind(local, "milvus", None)
    assert error.value.recorded == "hnsw" and "--" not in str(error.value)
    assert "index into another folder with --index to use Milvus" in flags.explain(error.value)


def test_model_errors_gain_the_model_flags():
    unavailable = flags.explain(ModelUnavailable("cannot load the weights of model ViT-B-32"))
    assert unavailable.startswith("cannot load the weights of model ViT-B-32 (")
    assert "--weights FILE" in unavailable and "--model demo" in unavailable
    package = ModelUnavailable("model X needs the Python package `transformers`", package="transformers")
    assert flags.explain(package) == str(package)  # no checkpoint flags: a pip install is the way out
    mismatch = flags.explain(ModelMismatch("the index in X was built with model demo, not ViT-B-32"))
    assert mismatch.endswith("(omit --model, or index into another folder with --index)")
    other = ModelMismatch("the index in X has schema version 9")
    assert flags.explain(other) == str(other)


def test_a_device_the_machine_lacks_is_said_before_anything_loads(monkeypatch):
    import torch

    from clipsearch.encoders.devices import usable_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "init", lambda: (_ for _ in ()).throw(RuntimeError("Found no NVIDIA driver")))
    with pytest.raises(DeviceUnavailable) as error:
        usable_device("cuda")
    assert str(error.value) == 'device "cuda" asked for, but no CUDA GPU can run the model here: Found no NVIDIA driver'
    assert isinstance(error.value, ModelUnavailable)  # callers that caught model errors still catch it
    assert flags.explain(error.value).endswith(
        "(leave --device out to run on the best device there is, or pass --device cpu)")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailable, match='device "mps" asked for'):
        usable_device("mps")
    assert usable_device("cpu") == "cpu" and usable_device(None) == "cpu"  # none asked for: the best there is


@pytest.mark.parametrize("value, offline", [("1", True), ("true", True), ("ON", True), ("", False), ("0", False)])
def test_hub_offline_is_read_as_the_hub_reads_it(monkeypatch, value, offline):
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert hub_offline() is offline


@pytest.mark.parametrize("argv, pretrained, error", [
    (["--model", "ViT-B-32-256"], "datacomp_s34b_b86k", None),  # its only weights
    (["--model", "ViT-B-16"], None, "ViT-B-16 comes with several pretrained weights (openai, laion400m_e31"),
    (["--model", "ViT-B-16", "--pretrained", "openai"], "openai", None),
    (["--model", "ViT-B-16", "--pretrained", "none"], "none", None),  # random weights, asked for
    (["--model", "ViT-B-16", "--weights", "ckpt.pt"], None, None),
    (["--model", "ViT-B-32"], None, None),  # the default model: its default weights, as before
    (["--model", "demo"], None, None),
])
def test_a_model_named_alone_gets_its_pretrained_weights_never_random_ones_unasked(argv, pretrained, error, capsys,
                                                                                 tmp_path, monkeypatch):
    import argparse

    from indexer.cli import build_parser

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ckpt.pt").write_bytes(b"")  # a --weights file must be there
    parser = build_parser()
    args = parser.parse_args(["photos", *argv])
    if error:
        with pytest.raises(SystemExit) as stopped:
            flags.check_pretrained(parser, args)
        assert stopped.value.code == 2 and error in capsys.readouterr().err
        return
    flags.check_pretrained(parser, args)
    assert isinstance(args, argparse.Namespace) and args.pretrained == pretrained


@pytest.mark.parametrize("argv, said", [
    (["--model", "demo", "--weights", "{missing}"], "argument --weights: --model demo is the bundled model with its "
     "own weights; leave --weights out"),
    (["--model", "demo", "--weights", "{ckpt}"], "argument --weights: --model demo is the bundled model"),
    (["--model", "demo", "--pretrained", "openai"], "argument --pretrained: --model demo is the bundled model"),
    (["--model", "hf-hub:org/name", "--pretrained", "openai"], "argument --pretrained: hf-hub: models bring their own"),
    (["--model", "local-dir:{folder}", "--pretrained", "none"], "argument --pretrained: local-dir: models bring"),
    (["--model", "ViT-B-32", "--weights", "{missing}"], "argument --weights: no such file: {missing}"),
    (["--weights", "{missing}"], "argument --weights: no such file: {missing}"),
    (["--model", "ViT-B-32", "--weights", "{folder}"], "argument --weights: not a file: {folder}"),
    # open_clip's own error for these sent the user to download weights that a local-dir: model never has
    (["--model", "local-dir:{missing}"], "argument --model: no such folder: {missing}"),
    (["--model", "local-dir:{folder}"], "argument --model: {folder} is no open_clip model folder (it holds no "
     "open_clip_config.json)"),
])
def test_weights_the_model_would_not_use_or_cannot_find_are_refused_before_anything_is_written(argv, said, tmp_path,
                                                                                                capsys):
    where = {"missing": tmp_path / "nonexistent.pt", "ckpt": tmp_path / "ckpt.pt", "folder": tmp_path}
    where["ckpt"].write_bytes(b"")
    photos, index = tmp_path / "photos", tmp_path / "index"
    photos.mkdir()
    with pytest.raises(SystemExit) as stopped:
        indexer_main([str(photos), "--index", str(index), *(a.format(**where) for a in argv)])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # the usage, then one line
    assert stopped.value.code == 2 and last.startswith("python -m indexer: error: ") and said.format(**where) in last
    assert not index.exists()


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   sqlite3.OperationalError("database or disk is full")])
def test_a_full_disk_no_layer_named_is_one_line_that_says_so(tmp_path, capsys, monkeypatch, error):
    # The lock writing its pid, or the folder list written before the first batch, on a full disk.
    import indexer.cli

    def full(*args, **kwargs):
        raise error

    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", full)
    (tmp_path / "photos").mkdir()
    assert indexer_main([str(tmp_path / "photos"), "--index", str(tmp_path / "index"), "--model", "demo"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not write the index: ") and "the disk is full: free some space" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command, argv", [
    ("indexer", ["", "--index", "{index}", "--model", "demo"]),
    ("indexer", ["{photos}", "--index", "", "--model", "demo"]),
    ("indexer", ["--remove", "", "--index", "{index}"]),
    ("indexer", ["{photos}", "--index", "{index}", "--model", "ViT-B-32", "--weights", ""]),
    ("clipsearch", ["search", "dog", "--index", ""]),
    ("clipsearch", ["search", "dog", "--folder", "", "--index", "{index}"]),
    ("clipsearch", ["info", "--index", ""]),
    ("clipsearch", ["saved", "add", "Dogs", "dog", "--folder", "", "--index", "{index}"]),
    ("clipsearch", ["saved", "add", "Dogs", "dog", "--photo", "", "--index", "{index}"]),
    ("clipsearch", ["topics", "--words", "", "--index", "{index}"]),
])
def test_an_empty_name_is_a_usage_error_never_the_current_folder(command, argv, tmp_path, monkeypatch, capsys):
    """A script's variable that is not set (``--index "$INDEX"``, ``--remove "$OLD"``) gave an empty
    name, read as the current folder: the indexer wrote its index into the folder it ran in,
    indexed that folder, or forgot every photo of it; a search's ``--folder ""`` searched everywhere."""
    import cli.search

    photos = tmp_path / "photos"
    photos.mkdir()
    monkeypatch.chdir(photos)
    where = {"photos": photos, "index": tmp_path / "index"}
    main = indexer_main if command == "indexer" else cli.search.main
    with pytest.raises(SystemExit) as stopped:
        main([a.format(**where) for a in argv])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert stopped.value.code == 2 and ": an empty name (a variable that is not set?)" in last, last
    assert list(photos.iterdir()) == [] and not where["index"].exists()


@pytest.mark.parametrize("flag", ["--workers", "--threads"])
def test_a_thread_count_past_what_the_machine_can_run_is_a_usage_error(flag, tmp_path, monkeypatch, capsys):
    """``--workers 100000`` (a typo for 10) ended in a traceback, "can't start new thread", and
    ``--threads 100000`` in libgomp's "Out of memory" and exit 1, after the model had loaded."""
    import os
    from types import SimpleNamespace

    import indexer.cli
    from indexer.cli import build_parser

    monkeypatch.setattr(indexer.cli, "SearchEngine", SimpleNamespace(
        for_writing=lambda *_, **__: pytest.fail(f"the index was opened, the model loaded, for {flag} 100000")))

    limit = max(64, 4 * os.cpu_count())
    assert getattr(build_parser().parse_args([flag, str(limit)]), flag[2:]) == limit  # as many as that: taken
    photos = tmp_path / "photos"
    photos.mkdir()
    with pytest.raises(SystemExit) as stopped:
        indexer_main([str(photos), "--index", str(tmp_path / "index"), "--model", "demo", flag, "100000"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert stopped.value.code == 2 and last == (f"python -m indexer: error: argument {flag}: at most {limit} "
                                                f"(4 a CPU core), got 100000")
    assert not (tmp_path / "index").exists()
