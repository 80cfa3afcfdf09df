"""A per-process, short-lived cache of the catalog's rendered JSON responses (body + ETag).

The public catalog is the same for every shopper and read far more often than it changes, so each
gunicorn worker keeps the last rendered body of each listing/product/category query for
CATALOG_CACHE_SECONDS and answers repeats without touching PostgreSQL, pydantic or the JSON
encoder. Consequences, on purpose:

- A successful write through the admin API (any non-GET request of the `admin_api` blueprint
  answered below 400) empties THIS process's cache at once; other workers and replicas keep their
  entries until they expire, so every copy converges within CATALOG_CACHE_SECONDS.
- Stock sold by checkouts is not an invalidation: a listing may show stock up to
  CATALOG_CACHE_SECONDS old. Checkout never reads this cache; it re-checks the stock under row
  locks and answers 409 insufficient_stock when a shopper saw a stale number.
- Bounded: at most `max_entries` responses (least recently used evicted first), so arbitrary
  query strings (search words, prices) cannot grow a worker's memory without limit.

CATALOG_CACHE_SECONDS=0 switches it off (the test environment's default, so behaviour tests see
every write at once).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import Flask, Response, current_app, request

MAX_ENTRIES = 1024
ADMIN_BLUEPRINT = "admin_api"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class CachedResponse:
    body: bytes
    etag: str
    max_age: int
    expires_at: float


class ResponseCache:
    """Thread-safe TTL + LRU map of rendered responses (gunicorn's gthread workers share one)."""

    def __init__(self, ttl_seconds: float, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be 0 (off) or more")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, CachedResponse] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by clear(): a response rendered from data read before a write must not be stored
        # after it (it would be stale for a whole TTL although the write has been acknowledged).
        self._generation = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    @property
    def generation(self) -> int:
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> CachedResponse | None:
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, body: bytes, etag: str, max_age: int, generation: int) -> None:
        """Store a response rendered while the cache was at `generation` (read it before querying)."""
        if not self.enabled:
            return
        entry = CachedResponse(body=body, etag=etag, max_age=max_age,
                               expires_at=self._clock() + self.ttl_seconds)
        with self._lock:
            if generation != self._generation:
                return  # a write happened while this response was being rendered
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


def catalog_cache() -> ResponseCache:
    return current_app.extensions["dhakacart_catalog_cache"]


def _respond(entry: CachedResponse) -> Response:
    response = Response(entry.body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={entry.max_age}"
    response.set_etag(entry.etag)
    return response.make_conditional(request)


def cached_json(key: Hashable, render: Callable[[], bytes], *, max_age: int = 60) -> Response:
    """The catalog response for `key`: from this process's cache, or rendered, stored and returned.

    `render` returns the JSON body; the strong ETag is computed once per rendering (as Werkzeug's
    add_etag does) and If-None-Match gets a 304 either way.
    """
    cache = catalog_cache()
    entry = cache.get(key)
    if entry is None:
        generation = cache.generation
        body = render()
        probe = Response(body, mimetype="application/json")
        probe.add_etag()
        etag, _ = probe.get_etag()
        entry = CachedResponse(body=body, etag=etag, max_age=max_age, expires_at=0.0)
        cache.put(key, body, etag, max_age, generation)
    return _respond(entry)


def init_catalog_cache(app: Flask, ttl_seconds: float) -> ResponseCache:
    """Attach the cache to `app` and empty it after every successful admin write in this process."""
    cache = ResponseCache(ttl_seconds)
    app.extensions["dhakacart_catalog_cache"] = cache

    @app.after_request
    def _invalidate_after_admin_write(response: Response) -> Response:
        if (request.blueprint == ADMIN_BLUEPRINT and request.method not in READ_METHODS
                and response.status_code < 400):
            cache.clear()
        return response

    return cache
