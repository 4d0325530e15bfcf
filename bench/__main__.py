"""Run every benchmark: python -m bench [name ...]."""

import sys

from . import concurrency, dashboard, imports, load, search
from . import map as map_bench

BENCHES = {
    "search": search.main,
    "concurrency": concurrency.main,
    "load": load.main,
    "map": map_bench.main,
    "dashboard": dashboard.main,
    "imports": imports.main,
}


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default)."""
    names = argv or list(BENCHES)
    for name in names:
        if name not in BENCHES:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHES)}", file=sys.stderr)
            return 2
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
