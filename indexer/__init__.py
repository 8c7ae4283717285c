"""The command line that (re)indexes photo folders: ``python -m indexer FOLDER ...``."""
