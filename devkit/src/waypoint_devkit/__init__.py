"""Development-only support: never part of a service image.

``local_kafka`` and ``local_postgres`` run a real Apache Kafka broker (jars from Maven Central)
and a real PostgreSQL server (Debian's packages) on 127.0.0.1; ``launcher`` is `make run`;
``fixtures``, ``infrastructure``, ``suite``, ``waiting`` and ``faults`` are what the tests share.
"""
