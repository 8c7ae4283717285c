"""The command lines of clipsearch: ``clipsearch search|info``, the demo's ``make-library``, and the
flags every front end (these, ``indexer`` and ``webui``) shares (``cli.flags``).

Front ends parse arguments here and hand Settings to the library, which never imports argparse.
"""
