"""Run a local Milvus standalone on 127.0.0.1 until Ctrl+C (the server: testsupport/milvus_server.py).

    python -m venv /tmp/milvus-venv && /tmp/milvus-venv/bin/pip install milvus
    python scripts/milvus_server.py --python /tmp/milvus-venv/bin/python --port 19530
"""

import sys

from testsupport.milvus_server import main

if __name__ == "__main__":
    sys.exit(main())
