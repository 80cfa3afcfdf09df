"""Benchmarks of the shop on this machine: `python -m bench` (or `make bench`).

Results go to build/bench/results.json and build/bench/results.md; README's "Reliability and
performance" section quotes them together with the command that produced them.
"""
