"""Shared helpers: the image module (read, write, convert, grid), atomic file writes, the match score,
provenance, TensorFlow log silencing."""
