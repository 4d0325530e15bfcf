"""Importers: one module per source format; parse is pure, one shared upsert writes."""
