"""Tests of the Bluetooth link, pairing and Bluetooth polling against the simulated car."""
