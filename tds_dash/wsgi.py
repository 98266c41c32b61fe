"""WSGI entry for gunicorn (`tds_dash.wsgi:server`); background work starts in gunicorn.conf.py hooks."""
from tds_dash.app import create_app

app = create_app()
server = app.server
