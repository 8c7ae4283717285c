"""``clipsearch topics``: what a library holds, at a glance; ``topics --show NAME`` lists one topic's photos.

An edge: it parses, asks the engine (``clipsearch.topics``) and prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from clipsearch import InvalidQuery, SearchEngine, Settings, UnreadableImage
from clipsearch.file_reading import read_at_most
from clipsearch.reports import counted

from . import flags
from .terminal import shown

MAX_WORDS_BYTES = 10 * 2**20  # a list of words: 10 MB is some 500,000 of them


def add_parser(sub: Any) -> None:
    """The ``topics`` subcommand of ``python -m clipsearch``."""
    parser = flags.subcommand(
        sub, "topics", help="what the library holds: its photos grouped by what they show, each group named",
        description="Group the indexed photos by what they show and name each group (\"a beach\", "
        "\"a dog\", \"a receipt\"), largest first, with its best example. Worked out from the index "
        "when asked; nothing is stored and no file is read.")
    parser.add_argument("-k", type=flags.positive, metavar="N",
                        help="how many topics at most (default: about the square root of a third of the photos, at most "
                        "24; never more than the library's different pictures, copies counted once)")
    parser.add_argument("--words", type=flags.name, metavar="FILE", help="name the topics from these words (UTF-8 text), one a line, read as "
                        "they are (default: about 280 common subjects, each read as 'a photo of ...')")
    parser.add_argument("--show", metavar="NAME", help="list the photos of the topic NAME, nearest its centre first")
    parser.add_argument("--json", action="store_true", help="print one JSON array")
    flags.add_device(parser)


def run(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``topics`` and ``topics --show NAME``; ``parser``: the one whose usage an error prints."""
    try:
        words = read_words(args.words) if args.words else None
    except ValueError as exc:  # a file that is not there or not words: a usage error, before the model loads
        return flags.usage_error(parser, str(exc))
    engine = SearchEngine.for_reading(settings, **flags.model_overrides(args))
    try:
        if args.show:
            try:
                photos = engine.topic_photos(args.show, k=args.k, words=words)
            except InvalidQuery as exc:
                return flags.usage_error(parser, str(exc))
            print(flags.json_text([p.to_dict() for p in photos]) if args.json else
                  "\n".join(f"{flags.score_text(p.score)}\t{shown(p.path)}" for p in photos))
            return 0
        topics = [t for t in engine.topics(k=args.k, words=words) if t.paths]  # a topic without a photo says nothing
    finally:
        engine.close()
    if args.json:
        print(flags.json_text([t.to_dict() for t in topics]))
        return 0
    for topic in topics:
        print(f"{topic.size}\t{shown(topic.name)}\t{shown(topic.paths[0])}")
    photos = sum(t.size for t in topics)
    print(f"{counted(len(topics), 'topic')} of {counted(photos, 'photo')} (each with its best example); `topics --show NAME` lists "
          "one's photos" if topics else "No topic: the index holds no photo", file=sys.stderr)
    return 0


def read_words(path: str) -> list[str]:
    """The words of ``--words FILE``: one a line, blank lines and ``#`` comments left out; a
    ``ValueError`` that names the flag for a file that cannot be read or holds none. At most
    ``MAX_WORDS_BYTES`` are read, and a device or a pipe nothing writes to is refused unread
    (``file_reading``): ``/dev/zero`` filled the memory, and an idle pipe waited for ever."""
    try:
        data = read_at_most(path, MAX_WORDS_BYTES)
        if len(data) > MAX_WORDS_BYTES:
            raise UnreadableImage(path, "file too large", f"more than {MAX_WORDS_BYTES // 2**20} MB")
        words = [line.strip() for line in data.decode("utf-8").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    except OSError as exc:
        raise ValueError(f"argument --words: cannot read {path}: {exc.strerror or exc}") from None
    except UnreadableImage as exc:  # a folder, a device, an idle pipe, too large: what it is
        raise ValueError(f"argument --words: cannot read {path}: {exc.reason}"
                         f"{f' ({exc.detail})' if exc.detail else ''}; give a text file, one word a line") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"argument --words: cannot read {path}: not UTF-8 text (byte {exc.start + 1}); "
                         "save it as UTF-8") from None
    if not words:
        raise ValueError(f"argument --words: {path} holds no words")
    return words
