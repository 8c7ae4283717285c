"""``python -m webui`` / ``clipsearch-web``: serve the search page over an index.

Thin on purpose: arguments -> Settings -> SearchEngine (model loaded and warmed once) ->
``build_app`` -> launch.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import socket
import sys
import time
from pathlib import Path

from cli import flags
from cli.terminal import ArgumentParser, log_to_stderr, said
from clipsearch.memory import cap_malloc_arenas, fix_mmap_threshold, keep_out, settle_loaded_objects

log = logging.getLogger("webui")

SERVER_ARENAS = 2  # malloc heaps shared by the server's threads: 170 MB less under load than 16
SERVER_MMAP_THRESHOLD = 4 << 20  # blocks of 4 MB or more mapped on their own (memory.py): 25-57 MB lower peak
# Loaded by the app's dependencies at import, never called by it, and resident for good: Triton
# (GPU kernels for torch.compile, which the app never uses; torchvision loaded it through
# torch._dynamo, which encoders/imports.py now puts off: kept out still, should another library
# load TorchDynamo), 75 MB, and pyarrow (an optional engine of pandas, which Gradio imports), 33 MB.
# And matplotlib, which the app never draws with: Gradio imports it around every event to set its
# backend, and where it is not installed each of those two imports searched every folder of
# sys.path again (31 us each, on the event loop's thread); kept out, a failed import is immediate.
# And IPython, where it is installed: Gradio imports it as it loads, for a notebook's cell magic,
# and asks it at launch whether it runs in a notebook (0.7 s of the server's start, 20 MB).
SERVER_KEEPS_OUT = ("triton", "pyarrow", "matplotlib", "IPython")
GRADIO_PROBE = "127.0.0.1"  # where Gradio tries the port first, whatever the host (http_server.start_server)
EPILOG = """\
The index folder defaults to $CLIPSEARCH_INDEX, else the per-user data folder; thumbnails are
cached under $CLIPSEARCH_CACHE (else the per-user cache folder). Build an index first with
`python -m indexer FOLDER --index DIR`; the page explains how when there is none yet.

For scripts: REST at /api/search (curl), named endpoints /search_text, /search_image, /similar
(gradio_client); for assistants: MCP at /gradio_api/mcp/sse. See webui/API.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(  # its usage errors name files and folders: said as a terminal shows them
        prog="python -m webui", description="Serve the clipsearch web page: search your photos by meaning.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    flags.add_index(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only)")
    parser.add_argument("--port", type=flags.port, default=7860, help="port to listen on (default 7860)")
    parser.add_argument("--root-path", type=_root_path, metavar="PATH",
                        help="the path a reverse proxy serves the app under: /photos for "
                             "https://example.com/photos/ (default: $GRADIO_ROOT_PATH, else none)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--auth", type=_auth, metavar="USER:PASS",
                     help="require this user name and password (do use it with a non-local --host); other "
                          "users of this computer can read a command line: --auth-file keeps it out of sight")
    who.add_argument("--auth-file", dest="auth", type=_auth_file, metavar="FILE",
                     help="as --auth, from the first line of FILE (USER:PASS; keep it private: chmod 600)")
    flags.add_device(parser)
    flags.add_threads(parser)
    flags.add_store(parser, "where the index lives when the folder does not say (default hnsw: the folder)")
    parser.add_argument("--originals", action="store_true",
                        help="let the page and the REST route hand out an indexed photo whole (a Download "
                             "link in its details, GET /api/photo); by default only thumbnails and previews "
                             "leave the server")
    parser.add_argument("--no-mcp", action="store_true",
                        help="do not serve the MCP endpoint for assistants (/gradio_api/mcp/sse); it is on "
                             "by default, and off on a non-local --host without --auth")
    parser.add_argument("--no-model-core", action="store_true",
                        help="let the model share every core with the request threads (by default, with the "
                             "model on the CPU, it keeps one core of its own: more queries/s under load; Linux)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def _auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASS, both non-empty")
    return user, password


def _root_path(text: str) -> str:
    path = text.strip()
    if not path.startswith("/") or any(c in path for c in "?# \t"):
        raise argparse.ArgumentTypeError(f"expected the path the proxy serves the app under, such as /photos, "
                                         f"not {text!r}")
    return path.rstrip("/")


def _auth_file(path: str) -> tuple[str, str]:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            line = handle.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if os.stat(os.path.expanduser(path)).st_mode & 0o077:
        print(f"warning: other users of this computer can read {said(path)}: chmod 600 {said(path)}", file=sys.stderr)
    try:
        return _auth(line)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"the first line of {path} should be USER:PASS, both non-empty") from None


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this computer."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_port(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """A usage error when ``host:port`` cannot be listened on (another server has it, say).

    Gradio binds the port on 127.0.0.1 first, whatever the host (``http_server.start_server``), and
    gives up where another server holds it there: with ``--host`` a LAN address or ``::1`` such a
    port passed this check, and the server died after the model loaded, in Gradio's traceback. So
    the port is tried there too."""
    for where in dict.fromkeys((host, GRADIO_PROBE)):
        try:
            family, kind, proto, _, address = socket.getaddrinfo(where, port, type=socket.SOCK_STREAM)[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
                probe.bind(address)
        except OSError as exc:
            if where != host and exc.errno != errno.EADDRINUSE:
                continue  # no IPv4 loopback here: Gradio's own try says what it says
            parser.error(port_problem(host, port, exc, where))


def port_taken(exc: OSError) -> bool:
    """Whether ``exc`` says the port is in use (Gradio's own words: "Cannot find empty port")."""
    return exc.errno == errno.EADDRINUSE or "Cannot find empty port" in str(exc)


def port_problem(host: str, port: int, exc: OSError, where: str | None = None) -> str:
    """Why ``host:port`` cannot be served on, in one line (``where``: the address found taken)."""
    there = f" on {where}" if where not in (None, host) else ""
    also = ", where the web server tries it first" if there else ""
    return f"cannot serve on {host}:{port}: " + (
        f"the port is in use{there} (another clipsearch, or another server?){also}: pass another --port"
        if port_taken(exc) else f"{exc.strerror or exc} (check --host)")


def check_cache(parser: argparse.ArgumentParser, cache_dir: str | os.PathLike) -> None:
    """A usage error when the thumbnail cache cannot be made or written (a read-only home, say)."""
    folder = Path(cache_dir) / "thumbs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        problem = None if os.access(folder, os.W_OK) else "it cannot be written"
    except OSError as exc:
        problem = exc.strerror or str(exc)
    if problem:
        parser.error(f"no thumbnail cache in {folder}: {problem} "
                     "(set CLIPSEARCH_CACHE to a folder this user can write)")


def load_and_warm_up(engine_class, settings, overrides):
    """The engine, its model loaded and warm (on the model thread: ``app.model_thread``)."""
    engine = engine_class.for_reading(settings, **overrides)
    engine.search_text("a photo", k=1)  # warm up: the first real query is as fast as the tenth
    return engine


def setup_logging(verbose: bool) -> None:
    """The server's log on stderr: its steps, a re-index's "skipping PATH: reason", each name
    ``shown`` as a terminal shows it (``cli.terminal``)."""
    log_to_stderr(logging.DEBUG if verbose else logging.WARNING, "%(levelname)s %(name)s: %(message)s")
    if not verbose:  # our own steps, without open_clip's and httpx's chatter on the root logger
        for name in ("webui", "clipsearch"):
            logging.getLogger(name).setLevel(logging.INFO)


@flags.ends_quietly
def main(argv: list[str] | None = None) -> int:
    """Parse arguments, load the model once, and serve until interrupted."""
    parser = build_parser()
    args = parser.parse_args(argv)
    flags.paths_as_bytes()  # a re-index's log of a file name that is not UTF-8
    setup_logging(args.verbose)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if "torch" not in sys.modules:  # a fresh process, not one that has loaded them already (tests)
        log.debug("kept out of this process: %s", ", ".join(keep_out(SERVER_KEEPS_OUT)) or "nothing")
    # One request in flight is one thread: let them share two heaps, not one each (see memory.py).
    cap_malloc_arenas(SERVER_ARENAS)
    fix_mmap_threshold(SERVER_MMAP_THRESHOLD)
    # Gradio's queue rebuilds a pandas table of its last 10,000 events after every event, for a
    # monitoring page this app does not serve: 2 ms of CPU per call at 1,000 events, 13 ms at 10,000.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "100")

    flags.check_store(parser, args)
    check_port(parser, args.host, args.port)  # before the model loads, not after
    from clipsearch import ClipSearchError, IndexNotFound, SearchEngine
    from clipsearch.affinity import reserve_core
    from clipsearch.cutoff import use_compiled_fits

    from . import app, rest, stopping

    settings = flags.settings_from(args)
    check_cache(parser, settings.cache_dir)  # before the model loads, too
    overrides = flags.model_overrides(args)
    mcp = not args.no_mcp
    if not is_loopback(args.host) and not args.auth:
        message = (f"serving on {args.host} without --auth: anyone who can reach this address can "
                   f"search your photos and see their thumbnails")
        log.warning(message)
        print(f"warning: {said(message)}", file=sys.stderr)
        if mcp:
            log.warning("the MCP endpoint for assistants stays off on %s without --auth", args.host)
            mcp = False
    engine = None
    try:
        started = time.perf_counter()
        engine = app.model_thread().call(load_and_warm_up, SearchEngine, settings, overrides)
        info = engine.info()
        log.info("model %s loaded and warm in %.1f s; %d photos indexed", info["stamp"].get("model"),
                 time.perf_counter() - started, info["count"])
    except IndexNotFound:
        log.warning("no index in %s yet: the page explains how to build one", settings.index_dir)
    except ClipSearchError as exc:
        print(f"error: {said(flags.explain(exc))}", file=sys.stderr)
        return 1
    # Every query fits the cut-off's mixture: compiled, in a quarter of the CPU and without the
    # interpreter lock, which eight requests at once otherwise fight over (clipsearch/mixture_jit.py).
    # After the model: numba's 130 MB then fill what the model's loading gave back, not add to its peak.
    if use_compiled_fits():
        log.info("the cut-off fits with its compiled EM")
    # The model thread keeps a core; while queries overlap the other threads keep off it (affinity.py).
    if not args.no_model_core and engine is not None and getattr(engine.encoder, "device", None) == "cpu":
        core = reserve_core(app.model_thread().call)
        if core is not None:
            log.info("the model runs on core %d, the other threads keep off it while queries overlap", core)
    blocks = app.build_app(engine, settings, overrides, originals=args.originals)
    blocks.queue(default_concurrency_limit=1)
    # quiet: Gradio's own banner tells a command-line user to "set share=True in launch()".
    where = {} if args.root_path is None else {"root_path": args.root_path}
    try:
        rest.launch(blocks, mcp=mcp, server_name=args.host, server_port=args.port, auth=args.auth, quiet=True,
                    **where, **app.launch_options(settings, engine))
    except OSError as exc:  # the port taken since check_port looked (another server started meanwhile)
        if not port_taken(exc):
            raise
        parser.error(port_problem(args.host, args.port, exc))
    # All that serving keeps is loaded: the collector's full passes no longer stop every request
    # in flight to walk it (memory.py).
    log.debug("%d objects set aside from the garbage collector's passes", settle_loaded_objects())
    behind = f"; a proxy serves it under {args.root_path}/" if args.root_path else ""
    # Ctrl-C, SIGTERM or SIGHUP: closed, the uploaded photos deleted
    stopping.serve_until_stopped(blocks, f"Serving clipsearch on {blocks.local_url}{behind} (Ctrl-C stops it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
