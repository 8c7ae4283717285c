"""Entry point of ``python -m indexer`` and the ``clipsearch-index`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
