"""The HTTP edge every service shares: the Flask app factory and its conventions (problem+json
errors, security headers, request ids), bearer-token auth and tenant binding, idempotency keys,
per-token rate limits, input ranges, the read audit trail, erasure endpoints, the privacy routes
every service answers (subject-access export, access log), gunicorn settings."""
