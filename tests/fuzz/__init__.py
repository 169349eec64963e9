"""Property-based tests: what the car or the cloud may send never breaks the links."""
