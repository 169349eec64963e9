"""Home Assistant integrations that put the simulator into a running Home Assistant."""
