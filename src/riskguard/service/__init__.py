"""riskguard as a shared HTTP service (FastAPI + uvicorn): check, reserve, fill, release, close, NAV
marks, trading state, stored decisions, Prometheus metrics and a live dashboard.

Needs the ``service`` extra (``pip install 'riskguard[service]'``). ``create_app`` is imported from
:mod:`riskguard.service.app`; this package's ``__init__`` stays free of FastAPI so that importing
its light modules (tokens, settings) costs nothing.
"""
