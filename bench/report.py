"""The benchmark results as JSON (for machines) and a Markdown table (for README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    md_path = out_dir / "results.md"
    json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    cores = machine["cores"]
    lines = [
        f"Command: `{results['command']}` on {machine['date']} — {cores} cores, "
        f"{machine['memory_gib']} GiB, {machine['cpu_model']}, load average before the run "
        f"{machine['load_average_before']}.",
        "",
        "| benchmark | cores | load generator | RPS | p50 ms | p99 ms | failed requests | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    catalog = results.get("catalog")
    if catalog:
        lines += _catalog_rows(catalog, cores)
    checkout = results.get("checkout")
    if checkout:
        lines.append(
            f"| checkout (`POST /api/v1/orders`) | {cores} | {checkout['buyers']} concurrent buyers "
            f"| {checkout['orders_per_second']:,.1f} orders/s "
            f"| {checkout['p50_ms']:.1f} | {checkout['p99_ms']:.1f} "
            f"| {checkout['failed']} | stock {checkout['initial_stock']}, sold {checkout['sold']}, "
            f"left {checkout['stock_left']}, oversold {checkout['oversold']}; load generator's CPU "
            f"{checkout.get('load_generator_cpu_share', 0):.0%} of the machine |"
        )
    lines.append("")
    scale = results.get("scale")
    if scale:
        from bench.catalog_scale import markdown as scale_markdown

        lines += scale_markdown(scale, scale["products"], cores)
        lines.append("")
    gunicorn = results.get("gunicorn_settings")
    if gunicorn:
        lines.append(
            "Both servers ran under the same gunicorn settings (app/gunicorn.conf.py): "
            + ", ".join(f"{k}={v}" for k, v in gunicorn.items())
            + "."
        )
        lines.append("")
    return "\n".join(lines)


def _catalog_rows(catalog: dict[str, Any], cores: int) -> list[str]:
    labels = {
        "minimal": ("minimal Flask endpoint (baseline)", ""),
        "shop": (f"`GET {catalog['path']}`", "as deployed: response cache on"),
        "shop_uncached": (f"`GET {catalog['path']}`",
                          "CATALOG_CACHE_SECONDS=0: every request queries PostgreSQL"),
    }
    rows = []
    for key, (label, note) in labels.items():
        run = catalog.get(key)
        if run is None:
            continue
        rows.append(
            f"| {label} | {cores} | wrk -c{run['connections']} -t{run['threads']} {run['duration_s']:.0f} s "
            f"| {run['rps']:,.0f} | {run['p50_ms']:.1f} | {run['p99_ms']:.1f} | {run['failed']} | {note} |"
        )
    rows.append(f"| **catalog / minimal ratio** | {cores} | | **{catalog['ratio']:.2f}** | | | | "
                "target ≥ 0.8, p99 < 50 ms |")
    if "ratio_uncached" in catalog:
        rows.append(f"| catalog / minimal ratio, cache off | {cores} | | {catalog['ratio_uncached']:.2f} "
                    "| | | | the database path |")
    return rows
