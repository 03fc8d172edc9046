"""Benchmark data: the shipped tables, loaded once into arrays (no model code, no search code)."""
