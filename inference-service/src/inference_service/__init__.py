"""Runs the current Edge Impulse int8 TFLite model on images sent over WebSocket or HTTP."""
