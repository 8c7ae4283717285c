"""clipsearch.memory: glibc's malloc tuned where present, a no-op elsewhere."""

from __future__ import annotations

import ctypes
import gc
import importlib
import os
import subprocess
import sys
import textwrap
import types
import weakref
from pathlib import Path

import pytest

from clipsearch import memory


def glibc() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallopt") and hasattr(ctypes.CDLL(None), "malloc_trim")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not glibc(), reason="glibc only")
def test_on_glibc_the_arena_cap_takes_effect_and_trim_runs():
    assert memory.cap_malloc_arenas(8) is True  # the default for 1 core; leaves the process as it was
    memory.release_freed_memory()


FREED_AND_KEPT = textwrap.dedent("""
    import ctypes, sys
    from clipsearch import memory
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]

    def resident_kb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    def used_and_freed(size):
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        libc.free(block)

    if sys.argv[1] == "fixed":
        assert memory.fix_mmap_threshold(4 << 20) is True
    used_and_freed(8 << 20)  # by default, glibc's threshold rises to this block's size
    before = resident_kb()
    used_and_freed(6 << 20)
    print((resident_kb() - before) // 1024)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not glibc(), reason="glibc only")
@pytest.mark.parametrize("threshold, most_kept_mb, least_kept_mb", [("default", 99, 4), ("fixed", 1, 0)])
def test_with_the_mmap_threshold_fixed_a_large_block_freed_goes_back_to_the_system(threshold, most_kept_mb,
                                                                                   least_kept_mb):
    """In a process of its own (the threshold cannot be put back): a 6 MB block used and freed
    after an 8 MB one stays resident by default, and goes back with the threshold fixed at 4 MB."""
    root = Path(__file__).resolve().parents[2]
    # glibc's own tuning left out: any of MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_,
    # MALLOC_TOP_PAD_ or MALLOC_MMAP_MAX_ (or their GLIBC_TUNABLES) fixes the thresholds too.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("MALLOC_") and name != "GLIBC_TUNABLES"}
    env["PYTHONPATH"] = str(root)
    run = subprocess.run([sys.executable, "-c", FREED_AND_KEPT, threshold], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert least_kept_mb <= int(run.stdout) <= most_kept_mb


def test_without_the_c_functions_both_do_nothing(monkeypatch):
    monkeypatch.setattr(memory, "_libc_function", lambda name: None)
    assert memory.cap_malloc_arenas(2) is False
    assert memory.fix_mmap_threshold(4 << 20) is False
    memory.release_freed_memory()  # no error


class Node:
    """An object the collector tracks, that can hold itself in a cycle."""

    def __init__(self) -> None:
        self.me = self


def test_settling_collects_what_is_garbage_and_sets_the_living_aside_from_the_collectors_passes():
    garbage, kept = Node(), Node()
    gone = weakref.ref(garbage)
    del garbage  # a cycle: only the collector can free it
    try:
        assert memory.settle_loaded_objects() == gc.get_freeze_count() > 0
        assert gone() is None
        assert not any(o is kept for o in gc.get_objects())  # no pass walks it any more
        made_since = Node()
        assert any(o is made_since for o in gc.get_objects())
    finally:
        gc.unfreeze()  # the test process's objects back to the collector
    assert any(o is kept for o in gc.get_objects())


def test_a_module_kept_out_fails_to_import_and_one_loaded_already_stays():
    modules = {"json": sys.modules["json"]}
    assert memory.keep_out(["clipsearch_absent_library", "json"], modules) == ["clipsearch_absent_library"]
    assert modules == {"json": sys.modules["json"], "clipsearch_absent_library": None}


def test_an_import_of_a_kept_out_module_raises_import_error(monkeypatch):
    import colorsys  # noqa: F401  (loaded, so that the patch below puts it back after the test)
    monkeypatch.delitem(sys.modules, "colorsys")
    assert memory.keep_out(["colorsys"]) == ["colorsys"]
    with pytest.raises(ImportError):
        import colorsys  # noqa: F401, F811


def test_gradio_runs_its_events_with_matplotlib_kept_out(monkeypatch):
    """The server keeps matplotlib out (``webui.__main__.SERVER_KEEPS_OUT``); Gradio wraps every
    event in this manager, which must then carry on without it."""
    from gradio.utils import MatplotlibBackendMananger

    from webui.__main__ import SERVER_KEEPS_OUT

    assert "matplotlib" in SERVER_KEEPS_OUT
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what keep_out leaves, installed or not
    with MatplotlibBackendMananger():  # raises if Gradio no longer catches the failed import
        pass
    assert sys.modules["matplotlib"] is None  # and nothing loaded it meanwhile


def test_gradio_loads_and_launches_outside_a_notebook_with_ipython_kept_out(monkeypatch):
    """The server keeps IPython out: Gradio imports it as it loads (a notebook's cell magic) and
    asks it at launch whether the app runs in a notebook or in Colab, each behind an ImportError."""
    import gradio.utils

    from webui.__main__ import SERVER_KEEPS_OUT

    assert "IPython" in SERVER_KEEPS_OUT
    for name in [m for m in sys.modules if m == "IPython" or m.startswith("IPython.")]:
        monkeypatch.delitem(sys.modules, name)  # restored after the test
    monkeypatch.delitem(sys.modules, "gradio.ipython_ext", raising=False)
    monkeypatch.setitem(sys.modules, "IPython", None)  # what keep_out leaves, installed or not
    importlib.import_module("gradio.ipython_ext")  # raises if Gradio no longer catches the failed import
    assert gradio.utils.ipython_check() is False and gradio.utils.colab_check() is False
    assert sys.modules["IPython"] is None


def test_a_module_kept_out_for_a_while_fails_to_import_inside_only(monkeypatch):
    for name in ("scipy.linalg", "scipy.linalg.cython_blas"):  # as in a process yet to load them
        monkeypatch.delitem(sys.modules, name, raising=False)  # restored after the test
    with memory.keeping_out(["scipy.linalg"]) as kept:
        assert kept == ["scipy.linalg"]
        with pytest.raises(ImportError):
            importlib.import_module("scipy.linalg.cython_blas")
    assert "scipy.linalg" not in sys.modules  # importable again, as if never kept out
    loaded = types.ModuleType("scipy.linalg")
    monkeypatch.setitem(sys.modules, "scipy.linalg", loaded)
    with memory.keeping_out(["scipy.linalg"]) as kept:  # loaded already: left alone
        assert kept == [] and sys.modules["scipy.linalg"] is loaded
    assert sys.modules["scipy.linalg"] is loaded


@pytest.fixture
def library(tmp_path, monkeypatch):
    """A package ``putoff_lib`` on sys.path: ``heavy`` counts its own loads in ``putoff_lib.loads``
    and has ``rare`` and ``other``; ``light`` takes ``rare`` from it at its top, ``wide`` ``other``;
    the package ``sub`` takes its own ``heavy`` (the same) at its top."""
    package = tmp_path / "putoff_lib"
    package.mkdir()
    (package / "__init__.py").write_text("loads = []\n")
    (package / "heavy.py").write_text(textwrap.dedent("""\
        import putoff_lib
        putoff_lib.loads.append(__name__)

        def rare(x, scale=1):
            return ("heavy", x * scale)

        other = 42
        """))
    (package / "light.py").write_text("from putoff_lib.heavy import rare\n")
    (package / "wide.py").write_text("from putoff_lib.heavy import other\n")
    (package / "sub").mkdir()  # a package that takes the module itself as it loads
    (package / "sub" / "__init__.py").write_text("from . import heavy\n")
    (package / "sub" / "heavy.py").write_text((package / "heavy.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("putoff_lib")
    for name in [m for m in sys.modules if m == "putoff_lib" or m.startswith("putoff_lib.")]:
        del sys.modules[name]


def test_a_module_put_off_loads_at_its_functions_first_call_and_imports_as_usual_after(library):
    with memory.putting_off("putoff_lib.heavy", ["rare"]) as stood_in:
        light = importlib.import_module("putoff_lib.light")
    assert stood_in is True
    assert library.loads == [] and "putoff_lib.heavy" not in sys.modules  # the stand-in stepped aside
    assert light.rare(3, scale=2) == ("heavy", 6)  # the module's own function, with its arguments
    assert library.loads == ["putoff_lib.heavy"]
    heavy = importlib.import_module("putoff_lib.heavy")
    assert heavy.rare is not light.rare and heavy.other == 42 and library.heavy is heavy
    assert light.rare(1) == ("heavy", 1) and library.loads == ["putoff_lib.heavy"]  # loaded once


def test_a_module_put_off_loads_at_once_for_anything_else_taken_from_it(library):
    with memory.putting_off("putoff_lib.heavy", ["rare"]):
        wide = importlib.import_module("putoff_lib.wide")
        assert library.loads == ["putoff_lib.heavy"]  # ``other`` is not a function stood in for
        assert sys.modules["putoff_lib.heavy"].other == 42
    assert wide.other == 42 and library.heavy is sys.modules["putoff_lib.heavy"]


def test_a_module_whose_package_comes_in_meanwhile_is_the_real_one_after(library):
    with memory.putting_off("putoff_lib.sub.heavy", ["rare"]):
        sub = importlib.import_module("putoff_lib.sub")
        assert library.loads == []  # its package holds the stand-in for now
    assert library.loads == ["putoff_lib.sub.heavy"]
    assert sub.heavy is sys.modules["putoff_lib.sub.heavy"] and sub.heavy.other == 42


def test_a_module_loaded_already_is_not_put_off(library):
    heavy = importlib.import_module("putoff_lib.heavy")
    with memory.putting_off("putoff_lib.heavy", ["rare"]) as stood_in:
        light = importlib.import_module("putoff_lib.light")
    assert stood_in is False and light.rare is heavy.rare and sys.modules["putoff_lib.heavy"] is heavy
