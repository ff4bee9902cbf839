"""Benchmarks: each module measures one part against a peer in the same run.

Run one with ``.venv/bin/python -m bench.<name>``, all with ``make bench``; each writes
its numbers to ``bench/results/<name>.md`` (and ``.json``).
"""
