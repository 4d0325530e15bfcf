"""Blueprints: thin views that parse, call the domain, and present."""
