"""Catalog throughput: the shop's product listing beside the minimal Flask endpoint, same gunicorn settings.

The servers run one after the other (never together, so they do not share the two cores), each
after a warm-up run that fills connection pools and caches, and each measured by wrk with the same
connection count, thread count and duration. The shop is measured twice: as deployed (its
per-process response cache on, CATALOG_CACHE_SECONDS at the production default) and with the
cache off (CATALOG_CACHE_SECONDS=0), so the cost of the database path stays visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import wrk
from tests.support.gunicorn_process import APP_DIR, REPO_ROOT, GunicornProcess

CATALOG_PATH = "/api/v1/products?per_page=20"
MINIMAL_PATH = "/minimal"


def measure(server: GunicornProcess, path: str, *, connections: int, threads: int, seconds: int,
            warmup_seconds: int) -> wrk.WrkResult:
    if warmup_seconds > 0:
        wrk.run(server.base_url + path, connections=connections, threads=threads, seconds=warmup_seconds)
    return wrk.run(server.base_url + path, connections=connections, threads=threads, seconds=seconds)


def run(shop_env: Mapping[str, str], *, connections: int = 64, threads: int = 2, seconds: int = 15,
        warmup_seconds: int = 3, app_dir: Path = APP_DIR, uncached: bool = True) -> dict[str, Any]:
    """`app_dir` serves the shop from another copy of app/ (an A/B against an exported commit)."""
    options = {"connections": connections, "threads": threads, "seconds": seconds,
               "warmup_seconds": warmup_seconds}
    with GunicornProcess("bench.minimal_app:app", cwd=REPO_ROOT, env=shop_env, name="minimal") as minimal:
        minimal.start()
        minimal_result = measure(minimal, MINIMAL_PATH, **options)
    # The shop as deployed: the environment leaves CATALOG_CACHE_SECONDS to the production default.
    deployed_env = {k: v for k, v in shop_env.items() if k != "CATALOG_CACHE_SECONDS"}
    with GunicornProcess("wsgi:app", cwd=app_dir, env=deployed_env, name="shop") as shop:
        shop.start()
        shop_result = measure(shop, CATALOG_PATH, **options)
    results: dict[str, Any] = {
        "path": CATALOG_PATH,
        "minimal": minimal_result.as_dict(),
        "shop": shop_result.as_dict(),
        "ratio": round(shop_result.rps / minimal_result.rps, 3),
    }
    if uncached:
        with GunicornProcess("wsgi:app", cwd=app_dir, env={**deployed_env, "CATALOG_CACHE_SECONDS": "0"},
                             name="shop-uncached") as shop:
            shop.start()
            uncached_result = measure(shop, CATALOG_PATH, **options)
        results["shop_uncached"] = uncached_result.as_dict()
        results["ratio_uncached"] = round(uncached_result.rps / minimal_result.rps, 3)
    return results
