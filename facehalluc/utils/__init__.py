"""Shared helpers: image I/O conventions, atomic file writes, TensorFlow log silencing."""
