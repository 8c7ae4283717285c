"""Which device the model runs on: the one asked for, once this machine is known to have it, or
else the best there is (CUDA, then MPS, then the CPU)."""

from __future__ import annotations

import torch

from ..errors import DeviceUnavailable

DEVICES = "cpu, cuda (or cuda:N, the GPU numbered N from 0) or mps"  # the devices a model may be asked to run on


def usable_device(wanted: str | None) -> str:
    """``wanted`` when the model can run there; with none asked for, the best device there is.

    A device asked for that this machine lacks (no NVIDIA driver, a torch built without CUDA, no
    Apple GPU) is a ``DeviceUnavailable`` that says so, before anything is loaded: so is one GPU of
    several (``cuda:1``) that is not there, and a name that is no device (``DEVICES`` says which are).
    """
    if wanted is None:
        return best_device()
    device = _parsed(wanted)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable(f'device "{wanted}" asked for, but no CUDA GPU can run the model here: {_no_cuda()}')
    if device.type == "cuda" and device.index is not None and device.index >= (count := torch.cuda.device_count()):
        raise DeviceUnavailable(f'device "{wanted}" asked for, but this machine has {count} CUDA GPU'
                                f"{'s' * (count != 1)}, cuda:0 to cuda:{count - 1}")
    if device.type == "mps" and not _has_mps():
        raise DeviceUnavailable(f'device "{wanted}" asked for, but no Apple GPU can run the model here: '
                                "PyTorch's MPS backend is not available on this machine")
    return str(device) if device.type == "cuda" else device.type  # "cpu:0" as "cpu": the model's code asks for that


def _parsed(wanted: str) -> torch.device:
    """``wanted`` as torch reads a device ("CPU" as "cpu"); ``DeviceUnavailable`` for a name torch does
    not know, or a device the model is not run on here (torch's own error said neither plainly)."""
    try:
        device = torch.device(wanted.strip().lower())
    except (AttributeError, RuntimeError, TypeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps") or device.type != "cuda" and device.index:
        raise DeviceUnavailable(f"device {wanted!r} is not one the model runs on: give {DEVICES}")
    return device


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
