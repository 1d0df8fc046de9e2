"""The event store: `store` appends events to (tenant, stream) with optimistic concurrency and
reads them back by stream or by global position; `repository` is the one recording call a
service's handlers use (load a stream, decide, record the new events sealed by the codec)."""
