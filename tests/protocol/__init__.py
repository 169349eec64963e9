"""The integration's own vehicle-command protocol, checked against Tesla's vectors."""
