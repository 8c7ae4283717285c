"""Flags shared by every front end, parsed one way: ``--index``, the model flags, the store flags.

Only argparse and the library's public settings live here (no gradio, no torch), so ``--help``
stays instant in every command.
"""

from __future__ import annotations

import argparse
import atexit
import codecs
import contextlib
import functools
import gc
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from clipsearch import (
    ClipSearchError,
    DeviceUnavailable,
    IndexNotFound,
    IndexUnusable,
    ModelMismatch,
    ModelUnavailable,
    Settings,
    StoreMismatch,
)
from clipsearch.config import DEFAULT_MODEL, DEFAULT_PRETRAINED, INDEX_ENV
from clipsearch.web_names import json_text  # noqa: F401 - the commands print JSON as flags.json_text

from .terminal import command, said

DEVICES = ("cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
STORES = ("hnsw", "milvus")
INDEX_HELP = f"index folder (default: ${INDEX_ENV}, else the per-user data folder)"
MODEL_HELP = (f"open_clip model name, hf-hub:ORG/NAME, local-dir:PATH (an open_clip model folder), "
              f"or 'demo' (the bundled offline model; default {DEFAULT_MODEL})")


def ends_quietly(main: Callable[..., int]) -> Callable[..., int]:
    """``main``, ending in one line where it would end in a traceback: when whoever reads its output
    stops (``| head``: exit 141, as a shell's own commands end on SIGPIPE), and on Ctrl-C before
    the command's own handling of it (while the model loads, say: "interrupted", exit 130). A
    stream closed before it starts (``>&-`` in cron) is the null device: the command runs, with
    nothing to print to."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        _closed_streams_to_null()
        _quick_exit()
        try:
            code = main(argv)
            sys.stdout.flush()  # here, so that a closed pipe is caught below, not at exit
            return code
        except BrokenPipeError:
            stdout_to_null()  # for the exit's own flush
            return 141
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return run


def stdout_to_null() -> None:
    """Point stdout's descriptor at the null device, where what it writes to is gone (a reader
    that left, a terminal hung up): what Python still holds for it is flushed there, not raised."""
    with contextlib.suppress(ValueError):  # stdout closed: nothing to point
        _to_null(sys.stdout.fileno())


def _to_null(fd: int) -> None:
    """Point the descriptor ``fd`` at the null device (where it cannot be, it is left as it is)."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


def terminals() -> set[int]:
    """The descriptors of stdout and stderr that are a terminal now: ``hung_up_to_null``'s argument."""
    return {fd for fd in (1, 2) if os.isatty(fd)}


def hung_up_to_null(were: set[int]) -> None:
    """Point each of ``were`` (descriptors that were a terminal) at the null device where its
    terminal hung up: it is no terminal any more, and a write to it fails (EIO). A SIGHUP sent by
    hand (``kill -HUP``), its terminal still there, leaves it as it is."""
    for fd in sorted(were):
        if not os.isatty(fd):
            _to_null(fd)


def _quick_exit() -> None:
    """At the process's exit, no last garbage collection over every object torch and open_clip
    made at import: they are frozen first (``gc.freeze``, after every other exit handler; objects
    still alive are torn down as before). That collection alone took 0.8 s of a command's time on
    2 cores, after its last line was printed. Registered once, whoever calls ``main``."""
    global _FREEZES_AT_EXIT
    if not _FREEZES_AT_EXIT:
        atexit.register(gc.freeze)  # last-registered first: after those the command registers
        _FREEZES_AT_EXIT = True


_FREEZES_AT_EXIT = False


def _closed_streams_to_null() -> None:
    """Open the null device where stdout or stderr was closed before the process began (Python
    then has None for it, and ``sys.stdout.flush()`` ended in a traceback). Its descriptor takes it
    too, while it is free: a file opened later (the index's) must not get descriptor 1 or 2, where
    a library or a child process would write its output into it. One open for reading only is a
    file of whoever started the process (pyenv's shim, run with ``2>&-``, leaves its own script
    there): Python's stream alone goes to the null device, as its first write failed (EBADF)."""
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            if _read_only(fd):
                setattr(sys, name, open(os.devnull, "w"))  # kept open for the process's life
            continue
        try:
            os.fstat(fd)
        except OSError:  # free: the null device takes it (os.open gives the lowest free descriptor)
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "w", closefd=False))
        else:  # already another file's: Python's stream alone goes to the null device
            setattr(sys, name, open(os.devnull, "w"))  # kept open for the process's life


def _read_only(fd: int) -> bool:
    """Whether descriptor ``fd`` is open for reading only (False where it is not open, or on a
    system without ``fcntl``)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
    except OSError:
        return False


def paths_as_bytes() -> None:
    r"""Let stdout and stderr write a file name that is not UTF-8 (Latin-1 bytes from an old
    archive: ``'caf\udce9.jpg'`` in Python) as its own bytes, which a script can open again. Under
    a UTF-8 locale Python writes them strictly, and such a name ended a command in a traceback;
    stderr writes them as ``\udcXX`` (a warning's "skipping PATH"), neither the name's bytes nor a
    form anything reads back: in UTF-8 it writes their bytes too. A character the locale's encoding
    lacks (a saved search's "☕" under Latin-1) is written as ``\u2615``, where it ended in a
    traceback too."""
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        utf8 = str(getattr(stream, "encoding", "")).lower().replace("-", "") == "utf8"
        if (errors == "strict" or (errors == "backslashreplace" and utf8)) and callable(
                getattr(stream, "reconfigure", None)):
            with contextlib.suppress(OSError, ValueError):  # a stream whose file was swapped under it
                stream.reconfigure(errors=NAME_BYTES)  # (seekable once, a pipe now: ESPIPE): as it is


def _name_bytes(exc: UnicodeError) -> tuple[str | bytes, int]:
    """The ``NAME_BYTES`` error handler: ``surrogateescape`` for a name's undecodable bytes, and
    ``backslashreplace`` for what else the encoding cannot write (``surrogateescape`` alone raised)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text, start, end = exc.object, exc.start, exc.start
    escaped = "\udc80" <= text[start] <= "\udcff"
    while end < exc.end and ("\udc80" <= text[end] <= "\udcff") == escaped:
        end += 1
    if escaped:
        return bytes(ord(char) - 0xDC00 for char in text[start:end]), end
    return codecs.backslashreplace_errors(UnicodeEncodeError(exc.encoding, text, start, end, exc.reason))


NAME_BYTES = "clipsearch.name_bytes"
codecs.register_error(NAME_BYTES, _name_bytes)


def score_text(score: float) -> str:
    """A score as the command lines print it, 3 decimals; one that rounds to zero is "0.000", not "-0.000"."""
    text = f"{score:.3f}"
    return "0.000" if text == "-0.000" else text


def name(text: str) -> str:
    """An argparse type: a file's or a folder's name, never an empty one. A script's variable that is
    not set (``--remove "$OLD"``) gives an empty name, which would be read as the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name (a variable that is not set?)")
    return text


def path(text: str) -> Path:
    """An argparse type: ``name`` as a ``Path``."""
    return Path(name(text))


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def thread_count(text: str) -> int:
    """An argparse type: a number of threads, at most 4 a CPU core (64 on any machine). More only hold
    more photos in memory, and a typo's 100000 ran out of the threads the OS allows: a traceback
    ("can't start new thread"), or libgomp's abort once the model had loaded."""
    value = positive(text)
    if value > (limit := max(64, 4 * (os.cpu_count() or 1))):
        raise argparse.ArgumentTypeError(f"at most {limit} (4 a CPU core), got {value}")
    return value


def port(text: str) -> int:
    """An argparse type: a TCP port number."""
    value = positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def add_index(parser: argparse.ArgumentParser | Any, again: bool = False) -> None:
    """``--index DIR``; ``again``: on an action of a subcommand that has it (``saved add``), where
    it is read after the action's own arguments too and, when not given there, leaves the
    subcommand's own value alone."""
    parser.add_argument("--index", type=path, metavar="DIR", help=INDEX_HELP,
                        **({"default": argparse.SUPPRESS} if again else {}))


def subcommand(sub: Any, name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand of ``python -m clipsearch`` (``duplicates``, ``saved``, ``topics``, ``info``), with ``--index DIR``."""
    parser = sub.add_parser(name, help=help, description=description)
    parser.set_defaults(usage=parser)
    add_index(parser)
    return parser


def usage_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser whose usage an error found after parsing prints: the sub-command's (``search``,
    ``saved add``), which says what that command takes; the whole command's only without one."""
    return getattr(args, "usage", None) or parser


def usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    """What ``parser.error(message)`` prints (the usage, then ``PROG: error: message``), returned
    as exit code 2 instead of raised, for a command whose errors return their code. The message
    may name a file or hold a server's words: ``said`` on a terminal."""
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {said(message)}", file=sys.stderr)
    return 2


def image_refused(exc: ClipSearchError) -> str:
    """The usage error of an ``--image`` that cannot be searched with (``UnreadableImage``: not a
    picture, a folder, a file it may not read), in a search here and one asked of a server alike."""
    return f"argument --image: {exc}"


def add_device(parser: argparse.ArgumentParser | Any) -> None:
    """``--device``, one of the devices torch knows."""
    parser.add_argument("--device", choices=DEVICES, help="default: cuda, then mps, then cpu")


def add_threads(parser: argparse.ArgumentParser | Any) -> None:
    parser.add_argument("--threads", type=thread_count, metavar="N", help="torch threads on the CPU (default: all cores)")


def add_model(parser: argparse.ArgumentParser | Any) -> None:
    """``--model``, ``--pretrained``, ``--weights`` (which model a new index is built with)."""
    parser.add_argument("--model", help=MODEL_HELP)
    parser.add_argument("--pretrained", help=f"pretrained tag of the model (default: {DEFAULT_PRETRAINED} for "
                        f"{DEFAULT_MODEL}, the only one for a model that has one; 'none' for random weights, "
                        "as in benchmarks)")
    parser.add_argument("--weights", type=path, metavar="FILE", help="a local checkpoint file for --model (not with --model demo)")


def check_pretrained(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The model flags, checked before anything loads or is written (``check_weights``); then
    ``--model NAME`` alone, for an open_clip model other than the default: its pretrained weights
    when open_clip has one set (into ``args.pretrained``), else a usage error that lists them. Never
    random weights unasked: an index built with them finds nothing, and says nothing about why."""
    check_weights(parser, args)
    name = args.model
    if (not name or args.pretrained or args.weights or name in ("demo", DEFAULT_MODEL)
            or name.startswith(("hf-hub:", "local-dir:"))):
        return
    from clipsearch.encoders.imports import open_clip

    if name not in open_clip.list_models():
        return  # the model's loading says the name is unknown, and where the known ones are listed
    tags = open_clip.list_pretrained_tags_by_model(name)
    if len(tags) == 1:
        args.pretrained = tags[0]
        return
    if not tags:
        parser.error(f"open_clip has no pretrained weights for {name}: give a checkpoint with --weights FILE "
                     "(or --pretrained none for random weights, as in benchmarks)")
    listed = ", ".join(tags[:8]) + (f" and {len(tags) - 8} more" if len(tags) > 8 else "")
    parser.error(f"{name} comes with several pretrained weights ({listed}): pick one with --pretrained "
                 "(or --pretrained none for random weights, as in benchmarks)")


def check_weights(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error for ``--weights`` or ``--pretrained`` that the model would not use, where it
    would be ignored and yet recorded in the index's stamp: the demo model brings its own weights,
    an ``hf-hub:`` or ``local-dir:`` model its own (no ``--pretrained``); and for a ``--weights``
    file, or a ``local-dir:`` model folder, that is not there (open_clip's own error for a folder
    sent the user to download weights)."""
    name, weights = args.model or DEFAULT_MODEL, args.weights
    if name == "demo":
        for flag, value in (("--weights", weights), ("--pretrained", args.pretrained)):
            if value is not None:
                parser.error(f"argument {flag}: --model demo is the bundled model with its own weights; "
                             f"leave {flag} out")
    if args.pretrained is not None and name.startswith(("hf-hub:", "local-dir:")):
        parser.error(f"argument --pretrained: {name.split(':')[0]}: models bring their own weights; "
                     "leave --pretrained out")
    folder = Path(name[len("local-dir:"):]) if name.startswith("local-dir:") else None  # as open_clip reads it
    if folder is not None and not (folder / "open_clip_config.json").is_file():
        parser.error(f"argument --model: {folder} is no open_clip model folder (it holds no open_clip_config.json)"
                     if folder.is_dir() else f"argument --model: no such folder: {folder}")
    if weights is not None and not weights.expanduser().is_file():
        what = "not a file" if weights.expanduser().exists() else "no such file"
        parser.error(f"argument --weights: {what}: {weights}")


def add_store(parser: argparse.ArgumentParser | Any, store_help: str) -> None:
    """``--store`` and ``--milvus-uri``."""
    parser.add_argument("--store", choices=STORES, default="hnsw", help=store_help)
    parser.add_argument("--milvus-uri", metavar="URI",
                        help="with --store milvus: a server http://HOST:19530[#COLLECTION], or a FILE.db "
                        "for milvus-lite (default: milvus.db in the index folder)")


def check_store(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if getattr(args, "milvus_uri", None) and getattr(args, "store", "hnsw") != "milvus":
        parser.error("--milvus-uri needs --store milvus")


def settings_from(args: argparse.Namespace, **changes: Any) -> Settings:
    """Settings with the index folder and store the flags name (defaults for those not given)."""
    settings = Settings()
    if getattr(args, "index", None):
        settings = replace(settings, index_dir=Path(os.path.abspath(args.index.expanduser())))  # no "a/../b"
    if getattr(args, "store", None):
        settings = replace(settings, store=args.store, store_uri=getattr(args, "milvus_uri", None))
    return replace(settings, **changes)


def model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """How the model runs (device, threads), from the flags given."""
    keys = ("device", "threads")
    return {key: getattr(args, key) for key in keys if getattr(args, key, None)}


def explain(exc: ClipSearchError) -> str:
    """An error message for a terminal: the library's words, then the flags that help."""
    message = str(exc)
    hint = _flag_hint(exc)
    if isinstance(exc, IndexNotFound):
        return f"{message}: build one with `{hint}`"
    return f"{message} ({hint})" if hint else message


def _flag_hint(exc: ClipSearchError) -> str | None:
    """The flags that help with ``exc`` on a command line, or None."""
    if isinstance(exc, IndexNotFound):
        store = f" --store milvus --milvus-uri {exc.uri}" if exc.uri else ""
        return command("python", "-m", "indexer", "FOLDER", index=exc.location) + store
    if isinstance(exc, ModelMismatch) and "was built with model" in str(exc):
        return "omit --model, or index into another folder with --index"
    if isinstance(exc, IndexUnusable):
        return "name another folder with --index"
    if isinstance(exc, DeviceUnavailable):
        return "leave --device out to run on the best device there is, or pass --device cpu"
    if isinstance(exc, ModelUnavailable) and not getattr(exc, "package", None):
        return ("on the command line: --weights FILE gives a checkpoint file (with --model naming its "
                "architecture); --model demo runs the offline demo model")
    if isinstance(exc, StoreMismatch):
        if exc.recorded == "milvus":
            return "omit --milvus-uri, or index into another folder with --index"
        return "index into another folder with --index to use Milvus"
    return None
