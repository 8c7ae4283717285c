"""The clipsearch web app: ``build_app(engine, settings)`` returns the Gradio Blocks (named ``demo``
inside, as Gradio's guides do); ``build_demo`` is its earlier name.

Imported lazily, so that ``python -m webui --help`` answers before gradio (seconds) is imported.
"""

__all__ = ["build_app", "build_demo", "launch_options"]


def __getattr__(name: str):
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
