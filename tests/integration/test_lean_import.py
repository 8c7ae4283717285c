"""open_clip without torch's compiler (``clipsearch.encoders.imports``): the web app's and the
indexer's work never loads TorchDynamo, SymPy or timm, each in a fresh interpreter (a test process
has usually loaded them already); a model with a timm image tower still builds and embeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPILER = ("torch._dynamo", "sympy", "timm")


def run_probe(code: str, folder: Path) -> dict:
    """``code`` run in a fresh interpreter in ``folder``; what it printed last, read as JSON."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            cwd=folder, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_indexing_and_serving_searches_never_load_torchs_compiler(tmp_path):
    probe = """
        import json, sys
        from pathlib import Path
        import webui.__main__  # the server's own imports, then its app over an index
        from webui.app import build_app
        from clipsearch import ModelSpec, SearchEngine, Settings
        from clipsearch.demo import make_sample_library

        make_sample_library(Path("photos"), n=12, seed=3)
        settings = Settings(index_dir=Path("index"), cache_dir=Path("cache"), model=ModelSpec(name="demo"))
        engine = SearchEngine.for_writing(settings)
        added = engine.index_folder(Path("photos")).added
        first = engine.records().__next__().path
        found = [len(engine.search_text("a red circle", k=5, cutoff=0)),
                 len(engine.search_image(first, k=5, cutoff=0)), len(engine.similar(first, k=5, cutoff=0))]
        build_app(engine, settings)
        loaded = {name: name in sys.modules for name in COMPILER}
        roi_align = sys.modules["torchvision.ops.roi_align"]  # its import took the one function put off
        print(json.dumps({"added": added, "found": found, "loaded": loaded,
                          "compile_supported": roi_align.is_compile_supported("cpu"),
                          "after_the_call": "torch._dynamo" in sys.modules}))
        """.replace("COMPILER", repr(COMPILER))
    seen = run_probe(probe, tmp_path)
    assert seen["added"] == 12 and seen["found"] == [5, 5, 5], seen
    assert seen["loaded"] == dict.fromkeys(COMPILER, False)
    assert seen["compile_supported"] is True and seen["after_the_call"] is True  # torchvision's own answer


def test_a_timm_image_tower_imports_timm_as_it_is_built_by_clipsearch_or_beside_it(tmp_path):
    probe = """
        import json, sys
        from clipsearch.config import ModelSpec
        from clipsearch.encoders import load_encoder
        from clipsearch.encoders.imports import open_clip
        from PIL import Image

        before = ["timm" in sys.modules, open_clip.timm_model.timm is None]
        open_clip.factory._MODEL_CONFIGS["clipsearch-test-timm"] = {  # a small timm ViT, random weights
            "embed_dim": 64,
            "vision_cfg": {"timm_model_name": "vit_tiny_patch16_224", "timm_model_pretrained": False,
                           "timm_pool": "", "timm_proj": "linear", "image_size": 224},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
        }
        beside = open_clip.create_model("clipsearch-test-timm", pretrained=None)  # a program's own use
        encoder = load_encoder(ModelSpec(name="clipsearch-test-timm", pretrained=None)).load()
        images = encoder.embed_images([Image.new("RGB", (320, 240), (200, 30, 30))])
        texts = encoder.embed_texts(["a red square"])
        print(json.dumps({"before": before, "after": type(open_clip.timm_model.timm).__name__,
                          "one_class": open_clip.model.TimmModel is open_clip.timm_model.TimmModel,
                          "towers": [type(beside.visual.trunk).__name__,
                                     type(encoder._state().model.visual).__name__],
                          "shapes": [list(images.shape), list(texts.shape)]}))
        """
    seen = run_probe(probe, tmp_path)
    assert seen == {"before": [False, True], "after": "module", "one_class": True,
                    "towers": ["VisionTransformer", "TimmModel"], "shapes": [[1, 64], [1, 64]]}
