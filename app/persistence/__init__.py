"""Persistence: the RDB snapshot format (and its LZF and CRC-64 helpers)."""
