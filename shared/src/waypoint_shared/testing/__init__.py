"""The test kit: real brokers, real databases and real processes for the suite's tests."""
