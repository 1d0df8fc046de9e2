"""Consumer lag per partition: moved to
`waypoint_shared.messaging.lag` so both listening workers export it;
kept as an alias for the code and tests that import it from here."""

from waypoint_shared.messaging.lag import CONSUMER_LAG, LagWatch

__all__ = ["CONSUMER_LAG", "LagWatch"]
