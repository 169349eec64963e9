"""Scenario tests: Home Assistant, the simulated cloud and the simulated car over Bluetooth."""
