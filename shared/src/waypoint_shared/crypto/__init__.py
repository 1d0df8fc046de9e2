"""Personal data at rest: per-client data keys wrapped by the service's master key, values sealed
with AES-GCM and bound to their place (service, tenant, stream, field), crypto-shredding on
erasure, and master-key rotation. Knows the key tables and nothing of events or HTTP."""
