"""``python -m clipsearch``: the door to the ``clipsearch search|info`` command line (``cli.search``)."""

import sys

from cli.search import main

if __name__ == "__main__":
    sys.exit(main())
