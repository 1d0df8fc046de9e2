"""Fixtures for every test folder of the suite: real Kafka, PostgreSQL, tokens."""

pytest_plugins = ["waypoint_devkit.fixtures"]
