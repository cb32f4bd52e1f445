"""Where the benchmark finds its inputs: this checkout, ``../shared`` and the call generator.

Its own module so that :mod:`bench.datasets` and :mod:`bench.audibility` both
read the paths without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the checkout; SHARED_DIR points elsewhere (a copy on another machine).
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
DATA = SHARED / "data"
MAKE_CALLS = SHARED / "tools" / "make_calls.py"
