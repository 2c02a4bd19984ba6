"""Acts on the camera's results on the device: speech, a Sense HAT LED matrix, a webhook."""
