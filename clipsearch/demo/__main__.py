"""``python -m clipsearch.demo``: the door to the demo's command line (``cli.demo``)."""

import sys

from cli.demo import main

if __name__ == "__main__":
    sys.exit(main())
