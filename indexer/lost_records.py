"""What a run says where the index's ``records.sqlite`` was deleted by hand (its ``manifest.json``
left): the index is made anew, every photo embedded again, over the folders the run names, or,
naming none, the folders the manifest names. A dry run said only "no index yet", and a run naming
some of the manifest's folders dropped the others from the index without a word."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path

from cli.terminal import shown
from clipsearch import Settings

log = logging.getLogger("indexer")


def left_out(lost: list[str], named: list[Path]) -> list[str]:
    """The folders of ``lost`` (the manifest's) that none of ``named`` holds (itself, or one around it)."""
    roots = [os.path.abspath(os.fspath(folder.expanduser())) for folder in named]
    return [folder for folder in lost
            if not any(folder == root or folder.startswith(root.rstrip(os.sep) + os.sep) for root in roots)]


def warn_left_out(settings: Settings, lost: list[str], named: list[Path], dry_run: bool = False) -> None:
    """A warning naming the manifest's folders that a run naming ``named`` leaves out of the index it
    makes anew (their photos are then not searched), and how to include them."""
    left = left_out(lost, named)
    if not left:
        return
    command = shlex.join(["python", "-m", "indexer", "--index", os.fspath(settings.index_dir), *left])
    them, their = ("it", "its") if len(left) == 1 else ("them", "their")
    how = (f"name {them} too, or name no folder to index every folder the manifest names" if dry_run else
           f"to include {them}, index {them}: {command}")
    log.warning("this run %s out of the index made anew in %s %s its manifest.json names but the run does not: "
                "%s (%s photos are not searched until indexed again); %s", "would leave" if dry_run else "leaves",
                shown(settings.index_dir), "the folder" if len(left) == 1 else "the folders",
                ", ".join(shown(f) for f in left), their, how)


def dry_run_words(settings: Settings, folders: list[Path], model_asked: bool) -> str:
    """What a dry run says, in place of "no index yet", where the records were deleted by hand."""
    return (f"dry run: the records of the index in {shown(settings.index_dir)} are gone (its manifest.json is "
            f"left): a real run would make it anew over {', '.join(shown(f) for f in folders)}, with the model "
            f"{'asked for' if model_asked else 'the manifest names'}, and embed every photo again; "
            "nothing was created")
