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
(``memory.keeping_out``: open_clip then goes without it, as where it is not installed). Where timm
is installed, open_clip's timm image tower imports it as it is first built (``_timm_first``): by
clipsearch, or by a program that uses open_clip beside it.
"""

import functools
import importlib
import importlib.util
from typing import Any

import torch  # noqa: F401  (first: its own import is the one that must not be put off)

from ..memory import keeping_out, putting_off

with putting_off("torch._dynamo.utils", ["is_compile_supported"]), keeping_out(["timm"]):
    import open_clip


def _timm_first(tower: type) -> None:
    """Make ``tower`` (open_clip's ``TimmModel``, with timm kept out of open_clip's import) import
    timm as it is first built: open_clip's module of it is imported again (``importlib.reload``,
    which imports timm and the names it takes from it into the same module, where the class's
    methods read them) and keeps this class, the one ``open_clip.model`` builds."""
    build = tower.__init__

    @functools.wraps(build)
    def built(self, *args: Any, **kwargs: Any) -> None:
        module = open_clip.timm_model
        if module.timm is None:
            importlib.reload(module)
            module.TimmModel = tower
        build(self, *args, **kwargs)

    tower.__init__ = built


if open_clip.timm_model.timm is None and importlib.util.find_spec("timm") is not None:
    _timm_first(open_clip.timm_model.TimmModel)

__all__ = ["open_clip"]
