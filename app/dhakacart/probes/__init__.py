"""The shop's probes and scrapes: /healthz, /readyz and /metrics (views.py), readiness.py, metrics.py.

Once called ops/, a name that read like the infrastructure's ops tool (dhakacart_infra/ops).
"""
