"""Home Assistant with Tesla Resilient and a simulated Tesla, started by `python -m demo`."""
