"""WSGI entry for gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app` (run from app/)."""

from dhakacart import create_app

app = create_app()
