"""`python -m bench`: the catalog and checkout benchmarks on this machine, against real PostgreSQL.

Starts its own PostgreSQL (tests/support/postgres.py), migrates and seeds a fresh database with the
shop's own CLI, then measures:

1. the minimal Flask endpoint and `GET /api/v1/products?per_page=20`, each under gunicorn with
   app/gunicorn.conf.py, with wrk (64 connections), one after the other;
2. the catalog at two sizes (bench/catalog_scale.py): four listings against 45 products and against
   a generated catalog (`--products`, default 100,000), response cache off and on, side by side;
3. checkout: concurrent buyers emptying one product's stock, then the zero-oversell ledger check.

Writes build/bench/results.json and build/bench/results.md and prints the Markdown table.
Exit status 1 if a benchmark saw failed requests or the stock ledger does not add up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import catalog, catalog_scale, checkout, report
from tests.support.gunicorn_process import APP_DIR, GUNICORN_CONFIG
from tests.support.postgres import PostgresServer
from tests.support.shop_api import ShopApi, client_ip
from tests.support.shop_server import ADMIN_EMAIL, prepare_database, shop_env, start_shop

GUNICORN_SETTINGS_SHOWN = ("workers", "worker_class", "threads", "keepalive", "timeout", "graceful_timeout",
                           "backlog", "reuse_port", "preload_app")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", "--duration", dest="seconds", type=int, default=15,
                        help="wrk duration per measured run (default 15)")
    parser.add_argument("--warmup-seconds", type=int, default=3,
                        help="wrk warm-up before each run (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--buyers", type=int, default=16, help="concurrent checkout buyers (default 16)")
    parser.add_argument("--stock", type=int, default=1000, help="units the buyers sell out (default 1000)")
    parser.add_argument("--products", type=int, default=100_000,
                        help="products in the large catalog of the scale benchmark (default 100000)")
    parser.add_argument("--scale-connections", type=int, default=32,
                        help="wrk connections in the scale benchmark (default 32, as issue 16 measured)")
    parser.add_argument("--scale-seconds", type=int, default=8,
                        help="wrk duration per scale run: 4 queries x 2 sizes x cache off/on (default 8)")
    parser.add_argument("--only", choices=("catalog", "scale", "checkout"),
                        help="run one benchmark only (quick iterations: --only catalog --duration 8)")
    parser.add_argument("--no-uncached", dest="uncached", action="store_false",
                        help="skip the catalog run with its response cache off (CATALOG_CACHE_SECONDS=0)")
    parser.add_argument("--app-dir", type=Path, default=APP_DIR,
                        help="serve the shop from this copy of app/, e.g. an A/B against a commit "
                             "exported with `git archive <commit> app | tar -x -C /tmp/base`")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for every server (both sides of the catalog comparison), "
                             "e.g. --env GUNICORN_THREADS=2; repeatable")
    parser.add_argument("--out", type=Path, default=Path("build/bench"), help="results directory")
    args = parser.parse_args(argv)
    for name in ("seconds", "connections", "wrk_threads", "buyers", "stock", "products", "scale_connections",
                 "scale_seconds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup_seconds < 0:
        parser.error("--warmup-seconds must be 0 or more")
    for assignment in args.env:
        name, sep, _ = assignment.partition("=")
        if not sep or not name.strip():
            parser.error(f"--env {assignment!r} must look like NAME=VALUE")
    args.app_dir = args.app_dir.resolve()
    if not (args.app_dir / "wsgi.py").is_file():
        parser.error(f"--app-dir {args.app_dir} has no wsgi.py; point it at a copy of the repository's app/")
    return args


def _proc_field(path: str, pattern: str) -> str | None:
    """One field of a /proc file, or None where the file or the field is absent (not Linux)."""
    try:
        match = re.search(pattern, Path(path).read_text(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1).strip() if match else None


def machine() -> dict[str, Any]:
    cpu_model = _proc_field("/proc/cpuinfo", r"^model name\s*:\s*(.+)$") or "unknown CPU"
    memory_kib = int(_proc_field("/proc/meminfo", r"^MemTotal:\s*(\d+) kB") or 0)
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average_before": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def gunicorn_settings(env: dict[str, str]) -> dict[str, str]:
    """The effective settings of app/gunicorn.conf.py under this environment (gunicorn --print-config)."""
    completed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG), "--print-config", "wsgi:app"],
        cwd=APP_DIR, env={**env, "PYTHONPATH": str(APP_DIR)}, capture_output=True, text=True, timeout=60,
        check=False,
    )
    settings = {}
    for line in completed.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in GUNICORN_SETTINGS_SHOWN:
            settings[key.strip()] = value.strip()
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    arguments = shlex.join(argv if argv is not None else sys.argv[1:])
    results: dict[str, Any] = {
        "command": f"python -m bench {arguments}".strip(),
        "machine": machine(),
    }
    cores, load = results["machine"]["cores"], results["machine"]["load_average_before"]
    print(f"bench: {cores} cores, load average {load}", flush=True)
    postgres = PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory(prefix="dhakacart-bench-") as tmp:
            database_url = postgres.database_url("bench")
            env = shop_env(database_url, Path(tmp), dict(a.split("=", 1) for a in args.env))
            prepare_database(env)
            results["gunicorn_settings"] = gunicorn_settings(env)

            if args.only in (None, "catalog"):
                print("bench: catalog vs minimal endpoint (wrk)...", flush=True)
                results["catalog"] = catalog.run(
                    env, connections=args.connections, threads=args.wrk_threads, seconds=args.seconds,
                    warmup_seconds=args.warmup_seconds, app_dir=args.app_dir, uncached=args.uncached)
            if args.only in (None, "scale"):
                print(f"bench: seeding {args.products:,} products...", flush=True)
                large_dir = Path(tmp) / "large"
                large_dir.mkdir()
                extra = {"SECRET_KEY": env["SECRET_KEY"], **dict(a.split("=", 1) for a in args.env)}
                large_env = shop_env(postgres.database_url("bench_large"), large_dir, extra)
                seeded = catalog_scale.seed(large_env, args.products)
                print(f"bench: {seeded}; catalog at 45 and {args.products:,} products...", flush=True)
                results["scale"] = catalog_scale.run(
                    {"small": env, "large": large_env}, connections=args.scale_connections,
                    threads=args.wrk_threads, seconds=args.scale_seconds,
                    warmup_seconds=args.warmup_seconds, app_dir=args.app_dir)
                results["scale"]["products"] = args.products
            if args.only in (None, "checkout"):
                print(f"bench: checkout with {args.buyers} buyers over {args.stock} units...", flush=True)
                with start_shop(env, name="shop-checkout") as shop:
                    admin = ShopApi(shop.base_url, ip=client_ip(999), keep_alive=True)
                    admin.login(ADMIN_EMAIL)
                    results["checkout"] = checkout.run(shop.base_url, database_url, admin,
                                                       buyers=args.buyers, stock=args.stock)
    finally:
        postgres.stop()

    json_path, md_path = report.write(results, args.out)
    print(report.markdown(results))
    print(f"bench: wrote {json_path} and {md_path}")
    catalog_runs = ("minimal", "shop", "shop_uncached")
    catalog_results = results.get("catalog", {})
    failed = sum(catalog_results[run]["failed"] for run in catalog_runs if run in catalog_results)
    failed += sum(run["failed"] for run in results.get("scale", {}).get("runs", {}).values())
    if failed or not results.get("checkout", {}).get("consistent", True):
        print("bench: FAILED requests or an inconsistent stock ledger (see above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
