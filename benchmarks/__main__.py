"""``python -m benchmarks``: the same as ``benchmarks/run`` without installing or servers."""

from benchmarks.main import main

raise SystemExit(main())
