"""Turning local files into manifest entries: scan (``scan.py``), read (``read.py``), store
(``store.py``), with a helper process for many small files (``helper.py``).
"""

from artctl.ops.ingest.scan import SourceFile, scan, tree_signature
from artctl.ops.ingest.store import ingest

__all__ = ["SourceFile", "ingest", "scan", "tree_signature"]
