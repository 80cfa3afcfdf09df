"""The catalog at two sizes, side by side in one run: the demo's 45 products and a generated large one.

For each catalog (its own database on the benchmark's PostgreSQL, seeded with the shop's CLI:
`flask --app dhakacart seed`, and `seed --products N` for the large one), the shop runs under
gunicorn with app/gunicorn.conf.py twice, response cache off (CATALOG_CACHE_SECONDS=0: every
request queries PostgreSQL) and on (the production default), and wrk measures each of the four
listings of issue 16 one after the other. The goal: every uncached query at the large size within
1.5x of its 45-product throughput and latency, p99 under 100 ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg

from bench import wrk
from tests.support.gunicorn_process import APP_DIR, GunicornProcess
from tests.support.shop_server import flask_cli, plain_postgres_url

QUERIES = {
    "list": "/api/v1/products?per_page=20",
    "search": "/api/v1/products?per_page=20&q=rice",
    "category": "/api/v1/products?per_page=20&category=fruits&sort=price",
    "deep page": "/api/v1/products?per_page=20&page=200",
}
SIZES = ("small", "large")
GOAL_RATIO = 1.5
GOAL_P99_MS = 100.0


def seed(env: Mapping[str, str], products: int | None) -> str:
    """Migrate and seed the database of `env`; return the seed command's last line."""
    flask_cli(env, "db", "upgrade")
    args = ["seed"] if products is None else ["seed", "--products", str(products)]
    output = flask_cli(env, *args)
    # Measure a settled database, as a catalog is between imports: planner statistics and the
    # visibility map for index-only scans (autovacuum's work, done now rather than mid-run).
    with psycopg.connect(plain_postgres_url(env["DATABASE_URL"]), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE products")
    return output.strip().splitlines()[-1]


def run(envs: Mapping[str, Mapping[str, str]], *, connections: int, threads: int, seconds: int,
        warmup_seconds: int, app_dir: Path = APP_DIR) -> dict[str, Any]:
    """envs: {"small": env, "large": env}, each the shop's environment on its own database."""
    results: dict[str, Any] = {"queries": QUERIES, "runs": {}}
    for size in SIZES:
        for cache in ("off", "on"):
            env = {k: v for k, v in envs[size].items() if k != "CATALOG_CACHE_SECONDS"}
            if cache == "off":
                env["CATALOG_CACHE_SECONDS"] = "0"
            with GunicornProcess("wsgi:app", cwd=app_dir, env=env, name=f"shop-{size}-cache-{cache}") as shop:
                shop.start()
                for name, path in QUERIES.items():
                    url = shop.base_url + path
                    if warmup_seconds > 0:
                        wrk.run(url, connections=connections, threads=threads, seconds=warmup_seconds)
                    result = wrk.run(url, connections=connections, threads=threads, seconds=seconds)
                    results["runs"][f"{size}/{cache}/{name}"] = result.as_dict()
                    print(f"bench: {size:5} cache {cache:3} {name:9} {result.rps:8.1f} req/s "
                          f"p99 {result.p99_ms:7.1f} ms  failed {result.failed}", flush=True)
    results["verdict"] = verdict(results["runs"])
    return results


def verdict(runs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Per query: large/small throughput and p99 ratios, uncached, against the goal."""
    out = {}
    for name in QUERIES:
        small, large = runs[f"small/off/{name}"], runs[f"large/off/{name}"]
        rps_ratio = small["rps"] / large["rps"] if large["rps"] else float("inf")
        p99_ratio = large["p99_ms"] / small["p99_ms"] if small["p99_ms"] else float("inf")
        out[name] = {"rps_slowdown": round(rps_ratio, 2), "p99_ratio": round(p99_ratio, 2),
                     "met": rps_ratio <= GOAL_RATIO and p99_ratio <= GOAL_RATIO
                     and large["p99_ms"] < GOAL_P99_MS}
    return out


def markdown(scale: dict[str, Any], products: int, cores: int) -> list[str]:
    runs = scale["runs"]
    lines = [
        f"| `GET` (wrk -c{next(iter(runs.values()))['connections']}) | 45 products, cache off | "
        f"{products:,} products, cache off | slowdown (RPS, p99) | 45, cache on | {products:,}, cache on "
        "| failed | wrk CPU share |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, path in scale["queries"].items():
        cells = [runs[f"{size}/{cache}/{name}"] for size, cache in
                 (("small", "off"), ("large", "off"), ("small", "on"), ("large", "on"))]

        def cell(run: Mapping[str, Any]) -> str:
            return f"{run['rps']:,.0f} req/s, p99 {run['p99_ms']:.0f} ms"

        v = scale["verdict"][name]
        failed = sum(c["failed"] for c in cells)
        share = max(c["load_generator_cpu_share"] for c in cells)
        lines.append(f"| `{path.removeprefix('/api/v1')}` | {cell(cells[0])} | {cell(cells[1])} | "
                     f"{v['rps_slowdown']:.2f}x, {v['p99_ratio']:.2f}x{' ✓' if v['met'] else ''} | "
                     f"{cell(cells[2])} | {cell(cells[3])} | {failed} | ≤ {share:.0%} |")
    lines.append("")
    lines.append(f"Goal per uncached query: slowdown ≤ {GOAL_RATIO}x in both and p99 < {GOAL_P99_MS:.0f} ms "
                 f"at {products:,} products (✓ = met). {cores} cores shared by wrk, gunicorn and PostgreSQL.")
    return lines
