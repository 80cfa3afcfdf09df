"""Catalog throughput: the shop's product listing beside the minimal Flask endpoint, same gunicorn settings.

The two servers run one after the other (never together, so they do not share the two cores), each
after a warm-up run that fills connection pools and caches, and each measured by wrk with the same
connection count, thread count and duration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench import wrk
from tests.support.gunicorn_process import REPO_ROOT, GunicornProcess

CATALOG_PATH = "/api/v1/products?per_page=20"
MINIMAL_PATH = "/minimal"


def measure(server: GunicornProcess, path: str, *, connections: int, threads: int, seconds: int,
            warmup_seconds: int) -> wrk.WrkResult:
    wrk.run(server.base_url + path, connections=connections, threads=threads, seconds=warmup_seconds)
    return wrk.run(server.base_url + path, connections=connections, threads=threads, seconds=seconds)


def run(shop_env: Mapping[str, str], *, connections: int = 64, threads: int = 2, seconds: int = 15,
        warmup_seconds: int = 3) -> dict[str, Any]:
    options = {"connections": connections, "threads": threads, "seconds": seconds,
               "warmup_seconds": warmup_seconds}
    with GunicornProcess("bench.minimal_app:app", cwd=REPO_ROOT, env=shop_env, name="minimal") as minimal:
        minimal.start()
        minimal_result = measure(minimal, MINIMAL_PATH, **options)
    with GunicornProcess("wsgi:app", env=shop_env, name="shop") as shop:
        shop.start()
        shop_result = measure(shop, CATALOG_PATH, **options)
    return {
        "path": CATALOG_PATH,
        "minimal": minimal_result.as_dict(),
        "shop": shop_result.as_dict(),
        "ratio": round(shop_result.rps / minimal_result.rps, 3),
    }
