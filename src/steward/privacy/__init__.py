"""Privacy and security probes."""
