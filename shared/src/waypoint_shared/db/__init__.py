"""The SQL ground floor: engines for SQLite and PostgreSQL with the settings the store relies on
(WAL, FULL sync, BEGIN IMMEDIATE for writers), the migrations runner, and the shared tables
(events, outbox, keys, idempotency, audit). Everything above that touches SQL starts here."""
