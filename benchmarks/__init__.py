"""voip-bench: measurements that decide the design (never tests, never asserted).

Each sub-command module (``jitter``, ``mix``, ``quality``, ``relay``, ``e2e``)
exposes ``run(args) -> list[dict]`` returning one flat JSON-able record per
result; ``benchmarks.cli`` prints them and ``benchmarks.plots`` draws them.
"""
