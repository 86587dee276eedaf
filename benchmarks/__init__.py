"""Benchmark commands: realistic LiteLLM spend data and timed dashboard queries."""
