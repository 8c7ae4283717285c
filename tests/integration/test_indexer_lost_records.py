"""After ``records.sqlite`` was deleted by hand (``manifest.json`` left), a dry run says what a real
run would do, and a run naming only some of the manifest's folders says which it leaves out.

A ``--dry-run`` naming no folder said "no index in DIR yet: nothing was created", not a word of the
records lost, where a real run makes the index anew over the manifest's folders, every photo
embedded again. A run naming some of those folders made the index over them alone and dropped the
others from it in silence (the next run naming no folder took the new index's folders only)."""

from __future__ import annotations

import json
import shlex

from clipsearch.stores import open_store
from tests.integration import test_indexer_cli
from tests.integration.conftest import run_indexer
from tests.integration.test_indexer_cli import _records_deleted, indexed_then_removed

# The index over photos/ and more/ (photos/private removed from it), made once per module: each
# test deletes the records of a copy of it (``_records_deleted``).
records_template = test_indexer_cli.records_template


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("WARNING")]


def test_a_dry_run_naming_no_folder_says_what_a_real_run_would_do(records_template, tmp_path):
    root, index = _records_deleted(records_template, tmp_path)
    dry = run_indexer("--index", str(index), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    said = " ".join(dry.stdout.split())
    assert "yet: nothing was created" not in said, said
    assert (f"dry run: the records of the index in {index} are gone (its manifest.json is left): a real run "
            f"would make it anew over ") in said, said
    over = said.split("would make it anew over ")[1]
    assert str(root / "photos") in over and str(root / "more") in over, said
    assert "with the model the manifest names, and embed every photo again; nothing was created" in said
    assert warnings_of(dry.stderr) == [], dry.stderr  # nothing left out: every folder of the manifest
    assert not (index / "records.sqlite").exists()


def test_a_run_naming_some_of_the_manifests_folders_says_which_it_leaves_out_and_how_to_include_them(records_template,
                                                                                                      tmp_path):
    root, index = _records_deleted(records_template, tmp_path)
    more = str(root / "more")
    dry = run_indexer(str(root / "photos"), "--index", str(index), "--dry-run", "--model", "demo")
    assert dry.returncode == 0, dry.stderr
    assert "a real run would make it anew over " in dry.stdout and "with the model asked for" in dry.stdout
    left = [line for line in warnings_of(dry.stderr) if "would leave out" in line]
    assert len(left) == 1 and f"the folder its manifest.json names but the run does not: {more} " in left[0], dry.stderr
    assert "(its photos are not searched until indexed again); name it too, or name no folder to index every " \
           "folder the manifest names" in left[0], left[0]

    again = run_indexer(str(root / "photos"), "--index", str(index), "--json")
    assert again.returncode == 0, again.stderr
    left = [line for line in warnings_of(again.stderr) if "leaves out" in line]
    assert len(left) == 1 and f"in {index} the folder its manifest.json names but the run does not: {more} " \
        in left[0], again.stderr
    command = f"python -m indexer --index {shlex.quote(str(index))} {shlex.quote(more)}"
    assert left[0].endswith(f"to include it, index it: {command}"), left[0]
    assert json.loads(again.stdout)["added"] == 2  # a and b

    included = run_indexer(*shlex.split(command)[3:], "--json")  # the command it says, as it says it
    assert included.returncode == 0 and json.loads(included.stdout)["added"] == 1, included.stdout + included.stderr
    assert warnings_of(included.stderr) == []  # an index whole again: nothing said of records gone
    store = open_store(index)
    try:
        assert sorted(store.info()["folders"]) == [more, str(root / "photos")] and store.count() == 3
    finally:
        store.close()


def test_a_run_naming_every_folder_or_one_around_them_leaves_none_out(tmp_path):
    root = indexed_then_removed(tmp_path)  # its own, not a copy: the folder around them holds the index run
    index = root / "index"
    (index / "records.sqlite").unlink()
    again = run_indexer(str(root), "--index", str(index), "--json")
    assert again.returncode == 0, again.stderr
    assert not [line for line in warnings_of(again.stderr) if "leave" in line], again.stderr
