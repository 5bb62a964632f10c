"""What an administrator watches the service with (README "Monitoring: metrics, logs and
readiness"): a layer of its own, above the jobs whose runs it reads and below the web that
serves it.

metrics.py   /metrics: request counts and latency (per Flask endpoint, never the raw path),
             and gauges read from the database at scrape time; who may read it
probes.py    /readyz: migrations applied, the worker running
"""
