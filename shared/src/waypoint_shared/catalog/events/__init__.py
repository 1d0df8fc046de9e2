"""The published language, one module per producing service, joined by the catalog."""
