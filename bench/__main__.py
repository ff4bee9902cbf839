"""Run every benchmark module in turn (``make bench``)."""

import importlib
import pkgutil
import sys
from pathlib import Path

if __name__ == "__main__":
    names = sys.argv[1:] or [
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not m.name.startswith("_")
    ]
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench.{name}")
        module.main()
