"""Kafka, both ways: the CloudEvents envelope, the outbox relay that publishes stored events in
order, the consumer runner that applies records exactly once per group (dead-lettering the rest),
the trust checks every inbound record passes, topics and ACLs, consumer lag, and the worker loop."""
