"""Waypoint's shared kit: the published event language and the plumbing all three services use.

Layered, each folder importing only those below it (an import-linter contract keeps it so):
`runtime` and `admin` (composition and operator CLI) → `http` | `messaging` (the two edges) →
`eventstore` → `catalog` (event types and schemas) → `crypto` → `db` → `observability` | `config`.
"""
