"""The clipsearch web app: ``build_app(engine, settings)`` returns the Gradio Blocks (named ``demo``
inside, as Gradio's guides do); ``build_demo`` is its earlier name."""

from .app import build_app, build_demo, launch_options

__all__ = ["build_app", "build_demo", "launch_options"]
