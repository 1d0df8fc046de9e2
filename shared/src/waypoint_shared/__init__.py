"""Waypoint's published language (event catalog, envelope) and the plumbing every service shares."""
