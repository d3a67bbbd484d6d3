"""Prometheus metrics: the families (families.py, plain Python), the request hooks and /metrics
(http.py). Under gunicorn, prometheus-client's multiprocess mode: gunicorn.conf.py says how."""
