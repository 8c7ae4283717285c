"""The clipsearch web app: ``build_demo(engine, settings)`` returns the Gradio Blocks ``demo``."""

from .app import build_demo, launch_options

__all__ = ["build_demo", "launch_options"]
