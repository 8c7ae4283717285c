"""open_clip, imported without torch's compiler (TorchDynamo), which clipsearch never runs.

open_clip imports torchvision (for one layer class) and timm (for the models whose image tower is
timm's), and both load TorchDynamo, SymPy and the rest of torch's compiler at their import:
torchvision's ``ops.roi_align`` imports ``torch._dynamo.utils`` at its top for one function,
``is_compile_supported``, which only ``roi_align`` calls; timm wraps some of its layers in
``torch.compiler.disable`` as it loads. Measured on the project's 2-core AVX2 machine, after torch:
importing open_clip 3.1-3.6 s with them, 1.2 s without, clipsearch's own package included (the
start of every command: a search, the indexer, the web app), 574 MB resident against 736; the web
app's libraries with ViT-B-32 loaded and both towers run, 85 MB less (1363 MB against 1448).

So open_clip is imported here with that module put off (``memory.putting_off``: the function
stands in and loads it at its first call, which nothing in clipsearch makes) and timm kept out
(``memory.keeping_out``: open_clip then goes without it, as where it is not installed). A model
with a timm tower gets it back before it is built (``with_timm``).
"""

import importlib
import importlib.util
from typing import Any

import torch  # noqa: F401  (first: its own import is the one that must not be put off)

from ..memory import keeping_out, putting_off
from .packages import needs_timm

with putting_off("torch._dynamo.utils", ["is_compile_supported"]), keeping_out(["timm"]):
    import open_clip


def with_timm(config: dict[str, Any] | None) -> bool:
    """Give open_clip timm, kept out of its import, for a model of this open_clip ``config`` that may
    need it (``packages.needs_timm``) where it is installed: open_clip's module that builds a timm
    image tower imports it again (``importlib.reload``: the class ``open_clip.model`` holds reads the
    module's names as it builds). True where open_clip has timm now."""
    module = open_clip.timm_model
    if needs_timm(config) and module.timm is None and importlib.util.find_spec("timm") is not None:
        importlib.reload(module)
    return module.timm is not None


__all__ = ["open_clip", "with_timm"]
