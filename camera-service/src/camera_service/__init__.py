"""camera-service: capture once, stream to every viewer, feed inference."""

__version__ = "0.1.0"
