"""gunicorn settings (read automatically from the working directory), used by the Procfile's web process.

Several workers are safe for ingest: each worker starts the background work after fork (never in the
master, so --preload is safe), and only TDS_INGEST_SLOTS workers ingest at a time; each claims a slot
with a PostgreSQL advisory lock (a stable MQTT client id and persistent session), the others stand by
and take over a slot when its worker dies (README "Several processes"). With TDS_INGEST_SLOTS > 1 the
ingesting workers share the stream through an MQTT 5 shared subscription. Scheduler jobs also run in
every worker; they take advisory locks or are idempotent (set TDS_SCHEDULER=false to run them elsewhere).
"""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 60
graceful_timeout = 20
accesslog = "-"


def post_worker_init(worker):
    # The master reads this file before forking: importing the app here would load it in the master.
    from tds_dash.background.runtime import start_background  # noqa: PLC0415
    from tds_dash.settings import load_settings  # noqa: PLC0415

    background = start_background(load_settings())
    worker.wsgi.extensions["tds"].background = background
    worker.tds_background = background


def worker_exit(server, worker):
    background = getattr(worker, "tds_background", None)
    if background is not None:
        background.stop()
