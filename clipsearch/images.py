"""Finding image files and opening them safely.

Every decoding problem becomes an ``UnreadableImage`` with a short, stable reason (``unreadable``):
one bad file is a line in a report, never a crash. Pixels come out upright (EXIF orientation), RGB,
alpha flattened onto white, CMYK through its ICC profile, 16-bit samples scaled, not clipped
(``picture_modes``). JPEGs decode at reduced scale (``Image.draft``) when a small picture will do: most
of indexing's cost; other pictures are reduced alike once decoded, before their mode is converted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import re
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, UnidentifiedImageError

from . import camera_raw
from .bounded_decode import bounded
from .cache_tag import CACHE_TAG, is_tagged_cache
from .errors import UnreadableImage
from .exif import exif_date, upright_size
from .file_reading import read_at_most
from .image_formats import AVIF_SUPPORTED, IMAGE_EXTENSIONS, NO_AVIF
from .picture_modes import to_rgb as to_rgb  # region.py's, and the tests', as it was when it lived here
from .picture_modes import upright_rgb

log = logging.getLogger(__name__)
T = TypeVar("T")

# Folders a NAS or an OS keeps beside photos: Synology's thumbnails (@eaDir), recycle bins, snapshots
# (whole copies of the library), Windows' and fsck's own; never walked into, but as a folder of the run.
SYSTEM_FOLDERS = frozenset({"@eaDir", "#recycle", "#snapshot", "@Recycle", "@Recently-Snapshot",
                            "$RECYCLE.BIN", "System Volume Information", "lost+found"})
MAX_FILE_BYTES = 1 << 30
MAX_QUERY_BYTES = 50 * 1024 * 1024  # a picture to search with: the web app's upload limit, `search --image`'s
# 250 MP phone photos (a 200 MP frame is 16320x12240) pass; JPEG draft decoding keeps them cheap.
DEFAULT_MAX_PIXELS = 300_000_000
_PILLOW_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class FileStat:
    """A candidate image file as the scan saw it: enough to tell whether it changed.

    ``ino`` and ``ctime_ns`` tell a file replaced by another of the same size and modification
    time (``rsync -t``, ``cp --preserve``, a restore): 0 where unknown; ``dev``, the disk, tells
    a disk whose files all changed ids at once (``file_identity``)."""

    path: str
    size: int
    mtime_ns: int
    ino: int = 0
    ctime_ns: int = 0
    dev: int = 0

    @classmethod
    def of(cls, path: str, st: os.stat_result) -> FileStat:  # what os.stat says of the file at path
        return cls(path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns, st.st_dev)

@dataclass
class ScanResult:
    """What a folder scan found: image files, and what could not be looked at, with reasons."""

    files: list[FileStat] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    others: Counter = field(default_factory=Counter)  # files that are no picture, by extension (".xmp")
    # the file (device, inode) each name reaches that is a symlink, a symlink's target or a hard link
    links: dict[str, tuple[int, int]] = field(default_factory=dict)  # (clipsearch/file_links.py)
    # the folders on another device than their parent's: disks mounted there (clipsearch/mount_points.py)
    mounts: dict[str, int] = field(default_factory=dict)  # folder -> its device


@dataclass(frozen=True)
class LoadedImage:
    """An upright RGB picture plus the facts the index records about its file."""

    image: Image.Image
    width: int  # of the upright original, before any reduced-scale decode
    height: int
    date_taken: str | None  # ISO 8601 from EXIF, when present and sane
    fingerprint: str  # hash of the file's bytes


def is_image_name(name: str) -> bool:
    """True when a file name has one of the supported image extensions (any case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def scan_images(roots: Iterable[str | Path], exclude: Iterable[str | Path] = (),
                progress: Callable[[int], None] | None = None,
                wanted: Callable[[str], bool] = is_image_name) -> ScanResult:
    """Find image files (or the files whose names ``wanted`` takes: videos) below ``roots``, recursively.

    Hidden files and folders, a NAS's or an OS's own folders (``SYSTEM_FOLDERS``), a cache's tagged
    folder (``cache_tag``: the web app's thumbnails) but one named, and the folders in ``exclude``
    (the index's own) are skipped. Symlinked folders are followed once; loops are detected by device
    and inode (a link looping on itself is a file: the scan its name is for says it). Folders that
    cannot be listed are reported in ``errors`` and the scan goes on. ``progress`` hears how many image
    files were found so far, every half second (a share over the network scans slowly)."""
    scan = _Scan(exclude, progress, wanted)
    for root in roots:
        scan.root(os.path.abspath(os.fspath(root)))
    scan.result.files.sort(key=lambda f: f.path)
    return scan.result


class _Scan:
    """The state of one ``scan_images`` call: what was found, and which folders were seen."""

    def __init__(self, exclude: Iterable[str | Path], progress: Callable[[int], None] | None,
                 wanted: Callable[[str], bool]) -> None:
        self.result, self.wanted = ScanResult(), wanted
        self.progress, self.said = progress, time.monotonic()
        self.excluded = set()
        for item in exclude:
            with contextlib.suppress(OSError):
                st = os.stat(item)
                self.excluded.add((st.st_dev, st.st_ino))
        self.seen_dirs: set[tuple[int, int]] = set()
        self.devices: dict[str, int] = {}  # folder walked -> its device
        self.seen_files: set[str] = set()
        self.roots: set[str] = set()  # named to scan: walked even where tagged a cache

    def root(self, root: str) -> None:
        """A file named on its own is taken whatever its name; a folder is walked depth-first."""
        try:
            st = os.stat(root)
        except OSError as exc:
            self.result.errors.append((root, os_reason(exc)))
            return
        if stat.S_ISREG(st.st_mode):
            self._add_file(root, st, os.path.islink(root))
            return
        stack, self.roots = [root], {*self.roots, root}
        while stack:
            stack.extend(sorted(self._folder(stack.pop()), reverse=True))

    def _folder(self, folder: str) -> list[str]:
        """Record one folder's images; return its subfolders (none when seen or excluded)."""
        subfolders = []
        for entry in self._enter(folder):
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():  # follows symlinks; loops stop at seen_dirs
                    if entry.name not in SYSTEM_FOLDERS:
                        subfolders.append(entry.path)
                elif self.wanted(entry.name) and entry.path not in self.seen_files:
                    self._add_file(entry.path, entry.stat(), entry.is_symlink())
                elif not self.wanted(entry.name):
                    self.result.others[os.path.splitext(entry.name)[1].lower() or entry.name] += 1
            except OSError as exc:  # dangling symlink ("broken link"), vanished file, permissions
                if exc.errno == errno.ELOOP and not self.wanted(entry.name):
                    continue  # a link looping on itself leads to no folder: the scan its name is for says it
                broken = isinstance(exc, FileNotFoundError) and entry.is_symlink()
                self.result.errors.append((entry.path, "broken link" if broken else os_reason(exc)))
        if self.progress is not None and time.monotonic() - self.said >= 0.5:
            self.said = time.monotonic()
            self.progress(len(self.result.files))
        return subfolders

    def _enter(self, folder: str) -> list[os.DirEntry]:
        try:
            st = os.stat(folder)
            if (key := (st.st_dev, st.st_ino)) in self.seen_dirs or key in self.excluded:
                return []
            self.seen_dirs.add(key)
            self.devices[folder] = st.st_dev
            if self.devices.get(os.path.dirname(folder), st.st_dev) != st.st_dev:
                self.result.mounts[folder] = st.st_dev
            entries = list(os.scandir(folder))
        except OSError as exc:
            self.result.errors.append((folder, os_reason(exc)))
            return []
        if folder not in self.roots and any(e.name == CACHE_TAG for e in entries) and is_tagged_cache(folder):
            self.result.mounts.pop(folder, None)  # the web app's thumbnails, say: none of the library's
            return []
        return entries

    def _add_file(self, path: str, st: os.stat_result, symlink: bool = False) -> None:
        if not stat.S_ISREG(st.st_mode):  # a named pipe, a device: no photo, and may never end
            self.result.errors.append((path, "not a file"))
            return
        if path in self.seen_files:
            return
        self.seen_files.add(path)
        if symlink or st.st_nlink > 1:  # one file under several names
            self.result.links[path] = (st.st_dev, st.st_ino)
            if symlink:
                self.result.links[os.path.realpath(path)] = (st.st_dev, st.st_ino)
        self.result.files.append(FileStat.of(path, st))


def read_file_bytes(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a whole file (or a pipe: ``file_reading``), turning OS problems into ``UnreadableImage``."""
    path = os.fspath(path)
    try:
        data = read_at_most(path, max_bytes)
    except OSError as exc:
        raise UnreadableImage(path, os_reason(exc), str(exc.strerror or exc)) from None
    if not data:
        raise UnreadableImage(path, "empty file")
    if len(data) > max_bytes:
        raise UnreadableImage(path, "file too large", f"more than {max_bytes} bytes")
    return data


def fingerprint_bytes(data: bytes) -> str:
    """A content fingerprint: 128-bit BLAKE2b of the bytes, in hex."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def load_image(
    source: str | Path | bytes,
    *,
    path: str | None = None,
    min_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    fingerprint: str | None = None,
    timeout: float | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> LoadedImage:
    """Open an image safely and return it upright in RGB.

    ``source`` is a path or the file's bytes (then ``path`` names it in errors). With
    ``min_size``, JPEGs are decoded at the smallest scale that keeps both sides at least that
    large, and other pictures reduced to it (``picture_modes.upright_rgb``). Pictures over ``max_pixels`` are refused before any pixel is decoded. A caller that
    already hashed the bytes passes ``fingerprint`` (hashing 3 MB costs ~3 ms). With
    ``timeout``, reading (of at most ``max_bytes``) and decoding run on a daemon thread that is abandoned after that many
    seconds ("timed out"): a hung or hostile file cannot hold the caller's thread; except bytes
    whose decoding their size bounds (``bounded_decode``: a baseline JPEG or a PNG), decoded here.
    """
    if timeout is None or (isinstance(source, (bytes, bytearray)) and bounded(source)
                           and not camera_raw.is_raw_name(path or "")):
        return _load(source, path, min_size, max_pixels, fingerprint, max_bytes)
    name = (path or "<bytes>") if isinstance(source, (bytes, bytearray)) else os.fspath(source)
    try:
        return call_abandonable(timeout, _load, source, path, min_size, max_pixels, fingerprint, max_bytes)
    except FutureTimeout:
        raise UnreadableImage(name, "timed out", f"no picture after {timeout:g} s") from None


def call_abandonable(timeout: float, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a daemon thread, waited for at most ``timeout`` seconds.

    On time-out ``concurrent.futures.TimeoutError`` is raised and the thread is left to finish
    or hang on its own: a daemon thread never holds up the process's exit (a
    ``ThreadPoolExecutor``'s threads are joined at exit, so one hung decode would hang it).
    """
    future: Future = Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to the waiting thread
            future.set_exception(exc)

    threading.Thread(target=work, name="decode", daemon=True).start()
    return future.result(timeout)


def _load(
    source: str | Path | bytes, path: str | None, min_size: int | None, max_pixels: int,
    fingerprint: str | None, max_bytes: int = MAX_FILE_BYTES,
) -> LoadedImage:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        name = path or "<bytes>"
    else:
        name = os.fspath(source)
        data = read_file_bytes(name, max_bytes)
    if not data:
        raise UnreadableImage(name, "empty file")
    fingerprint = fingerprint or fingerprint_bytes(data)
    defer_pillow_bomb_check(max_pixels)
    try:
        if camera_raw.is_raw(data, name):
            try:
                return LoadedImage(*camera_raw.develop(data, name, min_size, max_pixels), fingerprint)
            except UnreadableImage as exc:
                if exc.reason != "not an image":
                    raise  # else a picture of another kind under a RAW name, or a TIFF: Pillow's turn
        img = Image.open(io.BytesIO(data))
        return _decode(img, name, fingerprint, min_size, max_pixels)
    except UnreadableImage:
        raise
    except Exception as exc:  # Pillow's, and a codec's own: a damaged AVIF's or HEIC's RuntimeError
        raise unreadable(name, exc, max_pixels) from None


_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError)


def unreadable(name: str, exc: BaseException, max_pixels: int | None = None) -> UnreadableImage:
    """Why a picture cannot be used, from what opening or decoding it raised; an error of a kind
    Pillow's readers do not raise is named in the detail. ``max_pixels``: the limit to say for a bomb
    (else the process's, ``defer_pillow_bomb_check``'s)."""
    if isinstance(exc, Image.DecompressionBombError):  # Pillow's own message says twice the limit
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        return UnreadableImage(name, "too many pixels", too_many_pixels(
            pixels[1] if pixels else "", max_pixels or Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS))
    if isinstance(exc, UnidentifiedImageError):
        avif = name.lower().endswith(".avif") and not AVIF_SUPPORTED
        return UnreadableImage(name, NO_AVIF if avif else "not an image")
    if isinstance(exc, MemoryError):
        return UnreadableImage(name, "too many pixels", "out of memory")
    text = (str(exc) if isinstance(exc, _PILLOW_ERRORS) else f"{type(exc).__name__}: {exc}").strip()
    reason = "truncated" if "truncated" in text or isinstance(exc, EOFError) else "decode error"
    return UnreadableImage(name, reason, text[:200])


def too_many_pixels(size: str, max_pixels: int) -> str:
    """The detail of a "too many pixels": the picture's ``size`` ("30000x30000", or a count) and the limit."""
    return f"{size} pixels, more than the {max_pixels:,} allowed".lstrip()


def defer_pillow_bomb_check(max_pixels: int) -> None:
    """Raise Pillow's own decompression-bomb limit to at least ``max_pixels``.

    Pillow warns above ``Image.MAX_IMAGE_PIXELS`` (89.5 MP by default) and refuses above twice
    that, before our limit is consulted. Ours is checked in ``_decode`` from the header, before
    any pixel is decoded, so Pillow's must only never fire first. The limit is process-wide and
    only ever grows (under a lock, so two callers with different limits cannot lower it), which
    replaces ``warnings.catch_warnings``: that swaps process-wide state and is not thread-safe,
    and decoding runs in threads. A limit switched off (None) stays off.
    """
    with _PILLOW_LIMIT_LOCK:
        current = Image.MAX_IMAGE_PIXELS
        if current is not None and current < max_pixels:
            Image.MAX_IMAGE_PIXELS = max_pixels


def _decode(
    img: Image.Image, name: str, fingerprint: str, min_size: int | None, max_pixels: int
) -> LoadedImage:
    width, height = img.size
    if width < 1 or height < 1:
        raise UnreadableImage(name, "decode error", "zero-sized image")
    if width * height > max_pixels:
        raise UnreadableImage(name, "too many pixels", too_many_pixels(f"{width}x{height}", max_pixels))
    exif = img.getexif()
    orientation = exif.get(0x0112, 1)
    width, height = upright_size(img, orientation)
    date_taken = exif_date(exif)
    if min_size and img.format == "JPEG" and img.mode in ("RGB", "L", "CMYK"):
        img.draft(img.mode, (min_size, min_size))
    img.seek(0)  # first frame of an animation
    img.load()
    return LoadedImage(upright_rgb(img, min_size), width, height, date_taken, fingerprint)


defer_pillow_bomb_check(DEFAULT_MAX_PIXELS)  # header-only opens (reused vectors) too


def os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return "unreadable"

