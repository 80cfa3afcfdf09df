"""The baseline: the smallest Flask app that answers JSON, served by gunicorn with the shop's settings.

The catalog benchmark divides the shop's throughput by this app's; whatever the shop loses against
it is the cost of its own code (routing, database, serialisation), not of gunicorn or the machine.
"""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


@app.get("/minimal")
def minimal():
    return jsonify(status="ok")
