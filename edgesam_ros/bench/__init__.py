"""Benchmarks of the engine and its models."""
