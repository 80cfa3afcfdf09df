"""The shopper mix: each task of locust_runner.Shopper, walked once against the live shop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.live_shop import LiveShop

ROOT = Path(__file__).resolve().parents[2]


# Runs in a child process: importing locust monkey-patches the interpreter with gevent.
WALK_EVERY_TASK_ONCE = """
import json, sys
import locust
from locust.env import Environment
from dhakacart_infra.ops.locust_runner import Shopper

Shopper.host = sys.argv[1]
env = Environment(user_classes=[Shopper], events=locust.events)
seen = []
env.events.request.add_listener(
    lambda request_type, name, response, exception, **_: seen.append(
        [request_type, name, getattr(response, "status_code", None)]
    )
)
user = Shopper(env)
user.on_start()
tasks = sorted({t.__name__ for t in Shopper.tasks})
for name in tasks:
    getattr(user, name)()
print(json.dumps({"tasks": tasks, "requests": seen}))
"""


def test_every_step_of_the_shopper_mix_works_against_the_shop(shop: LiveShop) -> None:
    """The short run above is random; this walks each task of the mix once, so browse, search,
    product pages, cart and checkout are each proven to succeed (the checkout places an order)."""
    done = subprocess.run(
        [sys.executable, "-c", WALK_EVERY_TASK_ONCE, shop.base_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    walk = json.loads(done.stdout.strip().splitlines()[-1])
    assert walk["tasks"] == [
        "add_to_cart",
        "browse_catalog",
        "checkout",
        "product_api",
        "product_page",
        "search",
    ]
    statuses = {(method, name): status for method, name, status in walk["requests"]}
    assert statuses == {
        ("POST", "/api/v1/auth/register"): 201,
        ("POST", "/api/v1/auth/login"): 200,
        ("GET", "/api/v1/products"): 200,
        ("GET", "/api/v1/products?q="): 200,
        ("GET", "/products/<slug>"): 200,
        ("GET", "/api/v1/products/<slug>"): 200,
        ("PUT", "/api/v1/cart/items/<id>"): 200,
        ("POST", "/api/v1/orders"): 201,
    }
