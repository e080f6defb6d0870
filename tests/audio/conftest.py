"""Audio test fixtures live in tests/conftest.py (the viewer tests use the loopback too)."""
