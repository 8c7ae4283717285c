"""A Gradio app whose ``/search_text`` answers at once: what the call API costs on its own.

``bench_load.py --ceiling`` serves it in its own process, as it serves the web app, and loads it
as it loads the web app: the throughput it reaches is the most any build of the web app could reach
through Gradio's call API on that machine with these clients, whatever its model and its search
cost. The endpoint has the web app's name, inputs and concurrency group, and its answer the shape
of the web app's (``k`` records of a photo each); the queue and the server are set up as
``python -m webui`` sets up its own (``webui.rest.launch``'s steps, Gradio's per-event analytics
table off), without the model, the index and the /api routes.

    python benchmarks/idle_app.py --port 7999
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# As webui/__main__.py: no pandas table of the queue's last events rebuilt after every event.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "100")

import gradio as gr  # noqa: E402

from webui import start_check, uploads, waking_queue  # noqa: E402
from webui.app import ENCODER, ENCODER_LIMIT  # noqa: E402

RECORDS = [{"file": f"/photos/{i:05d}.jpg", "score": round(0.32 - i / 1000, 4), "strong": i < 5,
            "width": 1024, "height": 768, "date_taken": "2024-06-01T12:00:00", "size": 250_000,
            "thumbnail": f"/api/thumbnail?path=%2Fphotos%2F{i:05d}.jpg&size=256"} for i in range(500)]


def search_text(text: str, k: int = 20, min_score: float = 0.0, folder: str = "", since: str = "",
                until: str = "") -> list[dict]:
    """The web app's /search_text inputs; ``k`` fixed records, at once."""
    return RECORDS[:max(1, min(int(k), len(RECORDS)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with gr.Blocks(analytics_enabled=False) as demo:
        gr.api(search_text, api_name="search_text", concurrency_id=ENCODER, concurrency_limit=ENCODER_LIMIT)
    demo.queue(default_concurrency_limit=1)
    waking_queue.install(demo)
    uploads.install()
    start_check.install()
    demo.launch(server_name="127.0.0.1", server_port=args.port, prevent_thread_lock=True, quiet=True,
                mcp_server=False)
    print(f"Serving the idle app on {demo.local_url}", flush=True)
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
