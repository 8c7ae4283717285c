"""One of Gradio's functions wrapped, once, where the installed Gradio has it (``start_check``,
``upload_folders``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def wrap_once(module: str, name: str, wrap: Callable[[Any], Any], mark: str) -> bool:
    """``module.name`` replaced by ``wrap(module.name)``, marked with the attribute ``mark`` so
    that a second call leaves it as it is; False, and nothing replaced, where the module or the
    function is not there (another Gradio: its own is kept)."""
    try:
        owner = importlib.import_module(module)
    except ImportError:
        return False
    function = getattr(owner, name, None)
    if function is None:
        return False
    if not getattr(function, mark, False):
        wrapped = wrap(function)
        setattr(wrapped, mark, True)
        setattr(owner, name, wrapped)
    return True
