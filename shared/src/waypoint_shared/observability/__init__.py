"""Observability: JSON-lines logs with request and correlation ids, and the Prometheus metrics
every process exposes. The bottom layer with `config`: it knows no other part of the kit, and the
composition root (`runtime`) wires it in (for example, counting committed events)."""
