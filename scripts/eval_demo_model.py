"""Measure the offline demo model on freshly rendered pictures and print a table.

    PYTHONPATH=. python scripts/eval_demo_model.py [--n 500] [--seed 20240601] [--repeats 1]

The model is loaded exactly as clipsearch's open_clip encoder loads it (add_model_config +
create_model_and_transforms with the packaged checkpoint), and pictures go through the model's own
preprocess at mixed sizes. The default seed differs from the training seed, so these pictures are
held out. Reported:

- single-object queries ("a red circle"), one per colour+shape that appears: R@1 and R@5, where a
  hit is any picture containing an object of that colour and shape;
- the same queries with the background ("a red circle on a black background");
- two-object queries ("a blue star and a yellow square"): a hit contains both objects;
- image-to-image: how often a picture's nearest neighbour shares a coloured shape, vs chance.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import open_clip
import torch

from clipsearch.demo import (
    DEMO_MODEL_DIR,
    DEMO_MODEL_NAME,
    Scene,
    SceneObject,
    demo_checkpoint_path,
    random_scene,
    render_scene,
    write_demo_model_config,
)

EVAL_SEED = 20240601
EVAL_SIZES = (64, 96, 128, 224, 320)


def load_demo_model(model_dir: Path = DEMO_MODEL_DIR) -> tuple[torch.nn.Module, object, object]:
    """Load (model, preprocess, tokenizer) the way clipsearch.encoders.openclip does."""
    with tempfile.TemporaryDirectory() as folder:
        open_clip.add_model_config(write_demo_model_config(folder, model_dir))
        model, _, preprocess = open_clip.create_model_and_transforms(
            DEMO_MODEL_NAME, pretrained=str(demo_checkpoint_path(model_dir))
        )
        tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    model.eval()
    return model, preprocess, tokenizer


@torch.no_grad()
def _embed_texts(model: torch.nn.Module, tokenizer: object, texts: list[str]) -> np.ndarray:
    features = model.encode_text(tokenizer(texts))
    return torch.nn.functional.normalize(features, dim=-1).numpy()


@torch.no_grad()
def _embed_scenes(
    model: torch.nn.Module, preprocess: object, scenes: list[Scene], rng: random.Random
) -> np.ndarray:
    chunks = []
    for start in range(0, len(scenes), 100):
        batch = [
            preprocess(render_scene(s, rng.choice(EVAL_SIZES), rng)) for s in scenes[start : start + 100]
        ]
        chunks.append(torch.nn.functional.normalize(model.encode_image(torch.stack(batch)), dim=-1))
    return torch.cat(chunks).numpy()


def _recall(scores: np.ndarray, hits: np.ndarray, k: int) -> float:
    """Share of queries (rows) with a hit among their k best-scored pictures."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.take_along_axis(hits, top, axis=1).any(axis=1).mean())


def _query_scores(
    model: torch.nn.Module, tokenizer: object, queries: list[str], images: np.ndarray
) -> np.ndarray:
    return _embed_texts(model, tokenizer, queries) @ images.T


def evaluate(
    model: torch.nn.Module,
    preprocess: object,
    tokenizer: object,
    n: int = 500,
    seed: int = EVAL_SEED,
) -> dict[str, float]:
    """Render n pictures from seed and return the retrieval numbers described above."""
    rng = random.Random(seed)
    scenes = [random_scene(rng) for _ in range(n)]
    images = _embed_scenes(model, preprocess, scenes, rng)
    contents = [set(s.objects) for s in scenes]
    results: dict[str, float] = {"pictures": float(n)}

    singles = sorted({o for c in contents for o in c}, key=lambda o: (o.colour, o.shape))
    hits = np.array([[o in c for c in contents] for o in singles])
    scores = _query_scores(model, tokenizer, [o.phrase for o in singles], images)
    results |= {
        "single_queries": len(singles),
        "single_r1": _recall(scores, hits, 1),
        "single_r5": _recall(scores, hits, 5),
    }

    with_bg = sorted(
        {(o, s.background) for s in scenes for o in s.objects},
        key=lambda q: (q[0].colour, q[0].shape, q[1]),
    )
    hits = np.array(
        [[o in c and s.background == bg for c, s in zip(contents, scenes, strict=True)] for o, bg in with_bg]
    )
    scores = _query_scores(
        model,
        tokenizer,
        [f"{o.phrase} on a {bg} background" for o, bg in with_bg],
        images,
    )
    results |= {
        "background_queries": len(with_bg),
        "background_r1": _recall(scores, hits, 1),
        "background_r5": _recall(scores, hits, 5),
    }

    pairs: dict[frozenset[SceneObject], tuple[SceneObject, ...]] = {}
    for s in scenes:
        if len(s.objects) == 2:
            pairs.setdefault(frozenset(s.objects), s.objects)
    pair_list = sorted(pairs.values(), key=lambda p: " and ".join(o.phrase for o in p))
    hits = np.array([[set(p) <= c for c in contents] for p in pair_list])
    scores = _query_scores(model, tokenizer, [" and ".join(o.phrase for o in p) for p in pair_list], images)
    results |= {
        "pair_queries": len(pair_list),
        "pair_r1": _recall(scores, hits, 1),
        "pair_r5": _recall(scores, hits, 5),
    }

    shares = np.array([[bool(a & b) for b in contents] for a in contents])
    similarity = images @ images.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    off_diagonal = ~np.eye(n, dtype=bool)
    results |= {
        "neighbour_share": float(shares[np.arange(n), nearest].mean()),
        "neighbour_chance": float(shares[off_diagonal].mean()),
    }
    return results


def evaluate_seeds(
    model: torch.nn.Module, preprocess: object, tokenizer: object, n: int, seeds: list[int]
) -> list[dict[str, float]]:
    """evaluate() once per seed: 40 single-object queries make one seed's R@1 move in 0.025 steps."""
    return [evaluate(model, preprocess, tokenizer, n=n, seed=seed) for seed in seeds]


def format_table(runs: list[dict[str, float]], seeds: list[int]) -> str:
    """Mean results over the runs (one per seed) as a small Markdown table."""
    mean = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
    rows = [
        ("single object, e.g. 'a red circle'", "single", "R@1 >= 0.9, R@5 >= 0.99"),
        ("single object + background", "background", ""),
        ("two objects, e.g. 'a blue star and a yellow square'", "pair", ""),
    ]
    lines = [
        f"Held-out pictures: {int(mean['pictures'])} per seed; seeds {', '.join(map(str, seeds))}"
        + (" (mean over seeds; query counts are per seed)" if len(runs) > 1 else ""),
        "",
        "| queries | count | R@1 | R@5 | bar |",
        "|---|---:|---:|---:|---|",
    ]
    for label, key, bar in rows:
        lines.append(
            f"| {label} | {mean[key + '_queries']:.0f} | {mean[key + '_r1']:.3f} "
            f"| {mean[key + '_r5']:.3f} | {bar} |"
        )
    lines += [
        "",
        "| image-to-image | nearest neighbour shares a coloured shape | chance |",
        "|---|---:|---:|",
        f"| all pictures | {mean['neighbour_share']:.3f} | {mean['neighbour_chance']:.3f} |",
    ]
    if len(runs) > 1:
        per_seed = ", ".join(f"{run['single_r1']:.3f}" for run in runs)
        lines += ["", f"Single-object R@1 per seed: {per_seed}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="held-out pictures to render (default 500)")
    parser.add_argument("--seed", type=int, default=EVAL_SEED, help=f"render seed (default {EVAL_SEED})")
    parser.add_argument("--repeats", type=int, default=1, help="also evaluate seed+1, seed+2, ...")
    parser.add_argument(
        "--model-dir", type=Path, default=DEMO_MODEL_DIR, help="model files (default: the packaged ones)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for its benchmarks' helpers
    from benchmarks._common import load_line

    torch.set_num_threads(2)
    print(f"Machine before: {load_line()}\n")
    model, preprocess, tokenizer = load_demo_model(args.model_dir)
    seeds = [args.seed + i for i in range(args.repeats)]
    print(format_table(evaluate_seeds(model, preprocess, tokenizer, args.n, seeds), seeds))
    print(f"\nMachine after: {load_line()}")


if __name__ == "__main__":
    main()
