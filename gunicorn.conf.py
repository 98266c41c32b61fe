"""gunicorn settings (read automatically from the working directory), used by the Procfile's web process.

One worker with threads until ingest is made multi-process safe: each worker would start its own
subscriber and scheduler. Background work starts after fork, never in the master (--preload safe).
"""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 60
graceful_timeout = 20
accesslog = "-"


def post_worker_init(worker):
    from tds_dash.runtime import start_background
    from tds_dash.settings import load_settings

    background = start_background(load_settings(), progress=False)
    worker.wsgi.extensions["tds"].background = background
    worker.tds_background = background


def worker_exit(server, worker):
    background = getattr(worker, "tds_background", None)
    if background is not None:
        background.stop()
