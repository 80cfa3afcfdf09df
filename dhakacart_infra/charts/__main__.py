"""`python -m dhakacart_infra.charts record|pull|helm` (see record.py)."""

from .record import main

raise SystemExit(main())
