"""Helpers and fixtures that several test folders use (import them; never copy them)."""
