"""Which device the model runs on: the one asked for, once this machine is known to have it, or
else the best there is (CUDA, then MPS, then the CPU)."""

from __future__ import annotations

import torch

from ..errors import DeviceUnavailable


def usable_device(wanted: str | None) -> str:
    """``wanted`` when the model can run there; with none asked for, the best device there is.

    A device asked for that this machine lacks (no NVIDIA driver, a torch built without CUDA, no
    Apple GPU) is a ``DeviceUnavailable`` that says so, before anything is loaded.
    """
    if wanted is None:
        return best_device()
    if wanted == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable(f'device "cuda" asked for, but no CUDA GPU can run the model here: {_no_cuda()}')
    if wanted == "mps" and not _has_mps():
        raise DeviceUnavailable('device "mps" asked for, but no Apple GPU can run the model here: '
                                "PyTorch's MPS backend is not available on this machine")
    return wanted


def best_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if _has_mps() else "cpu"


def _has_mps() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _no_cuda() -> str:
    """Why torch sees no CUDA device, in torch's own words where it has some."""
    try:
        torch.cuda.init()
    except Exception as exc:  # torch raises RuntimeError or AssertionError, by build
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return "torch finds no CUDA device"
