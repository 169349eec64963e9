"""Scenario benchmarks of Tesla integrations in Home Assistant against the simulated car."""
