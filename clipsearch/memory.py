"""What the process gives back to the system (glibc's malloc, tuned where it is present) and what
it loads that it never uses (``keep_out``, ``putting_off``).

glibc keeps memory freed by a program for its own reuse, and gives every thread that allocates
under contention a heap (an "arena") of its own, up to eight per core. A model server frees
large buffers (the fp32 weights a bf16 model replaced) and runs many threads (one per request in
flight), so both keep hundreds of megabytes that nothing uses. Elsewhere (macOS, musl) these do
nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import sys
import types
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt's parameter numbers (malloc.h)
M_ARENA_MAX = -8


def _libc_function(name: str):
    try:
        return getattr(ctypes.CDLL(None), name)
    except (AttributeError, OSError):
        return None


def release_freed_memory() -> None:
    """Give freed heap memory back to the system now (``malloc_trim``)."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


def cap_malloc_arenas(arenas: int) -> bool:
    """Let threads share at most ``arenas`` heaps from now on; True where it took effect.

    Call it early, before the threads start: arenas made before stay. Measured on the web app
    with 8 clients (a third of them uploading pictures): 170 MB less resident memory, with 2.
    """
    return _mallopt(M_ARENA_MAX, max(1, int(arenas)))


def fix_mmap_threshold(size: int) -> bool:
    """Give each allocation of ``size`` bytes or more memory of its own from the system, returned
    as it is freed, and keep glibc's thresholds where they are; True where it took effect.

    By default glibc raises that threshold to the largest block freed so far (up to 32 MB), and
    with it how much free memory it keeps at the top of each heap before giving any back (twice
    the threshold): a server that once freed a large buffer keeps tens of megabytes per heap from
    then on. Fixed, a heap keeps at most glibc's default 128 kB at its top. Call it early, before
    the large buffers come and go.
    """
    return _mallopt(M_MMAP_THRESHOLD, int(size))


def _mallopt(parameter: int, value: int) -> bool:
    """glibc's ``mallopt``; True where it took effect (False without it)."""
    mallopt = _libc_function("mallopt")
    return bool(mallopt is not None and mallopt(parameter, value) == 1)


def settle_loaded_objects() -> int:
    """Collect what loading left as garbage, then keep every object alive now out of the garbage
    collector's full passes for good (``gc.freeze``); returns how many were set aside.

    For a server, once it has loaded all it keeps: a full pass walks every object the process
    holds, and torch, open_clip and Gradio make over half a million at import and load, which no
    request frees. Such a pass holds the interpreter lock throughout, so every request in flight
    stops for it: 0.3-0.6 s here on this project's 2-core machine. Frozen, a pass walks only what
    was made since. The cost: an object set aside that later becomes garbage inside a reference
    cycle stays in memory (freed at once where no cycle holds it, as most are).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def keep_out(names: Iterable[str], modules: MutableMapping[str, Any] = sys.modules) -> list[str]:
    """Make ``import NAME`` fail at once, for each of ``names`` not imported yet: a library that
    imports one only where it is installed then goes without it. Returns the names kept out.

    For libraries that a process's dependencies load at import, never to call them, and that stay
    resident: in the web app, Triton, pyarrow, matplotlib and IPython (``webui.__main__.SERVER_KEEPS_OUT``).
    Call it before those imports.
    """
    kept = [name for name in names if name not in modules]
    for name in kept:
        modules[name] = None
    return kept


@contextlib.contextmanager
def keeping_out(names: Iterable[str], modules: MutableMapping[str, Any] = sys.modules) -> Iterator[list[str]]:
    """``keep_out`` for a while: each of ``names`` not imported yet fails to import inside the
    ``with``, and imports as usual after it. Yields the names kept out.

    For a library that imports one of them as it loads, to offer functions the process never
    calls: numba, SciPy's linear algebra (``cutoff.use_compiled_fits``).
    """
    kept = keep_out(names, modules)
    try:
        yield kept
    finally:
        for name in kept:
            if name in modules and modules[name] is None:
                del modules[name]


@contextlib.contextmanager
def putting_off(name: str, functions: Iterable[str]) -> Iterator[bool]:
    """Inside the ``with``, module ``name`` (not imported yet) is not loaded by an import that takes
    from it only ``functions``: each is a stand-in that loads the module at its first call and calls
    the module's own. Anything else taken from it loads the module at once. After the ``with`` the
    module imports as usual. Yields whether it stood in (False where ``name`` was loaded already).

    For a library that imports a module at its top for a function it calls only in code the process
    never runs: torchvision's ``torch._dynamo.utils``, which loads torch's compiler
    (``encoders.imports``).
    """
    if name in sys.modules:
        yield False
        return
    parent, _, child = name.rpartition(".")
    parent_loaded = parent in sys.modules
    stand_in = _StandIn(name, functions)
    sys.modules[name] = stand_in
    try:
        yield True
    finally:
        stand_in.step_aside()
        if not parent_loaded and parent in sys.modules:  # its package came in anyway, and may hold the stand-in
            setattr(sys.modules[parent], child, importlib.import_module(name))


class _StandIn(types.ModuleType):
    """A module's place in ``sys.modules`` held until it is used (``putting_off``)."""

    def __init__(self, name: str, functions: Iterable[str]) -> None:
        super().__init__(name, f"stands in for {name} until it is used")
        for function in functions:
            setattr(self, function, self._later(function))

    def step_aside(self) -> None:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]

    def real(self) -> types.ModuleType:
        self.step_aside()
        return importlib.import_module(self.__name__)

    def _later(self, function: str):
        def call(*args, **kwargs):
            return getattr(self.real(), function)(*args, **kwargs)

        call.__name__ = call.__qualname__ = function
        return call

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # what the import system asks of a module (__path__, ...)
            raise AttributeError(attribute)
        return getattr(self.real(), attribute)
