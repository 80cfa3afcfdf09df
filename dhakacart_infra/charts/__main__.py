"""`python -m dhakacart_infra.charts record|pull|helm` (see record.py)."""

from .record import main

if __name__ == "__main__":
    raise SystemExit(main())
