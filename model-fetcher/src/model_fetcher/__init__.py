"""model-fetcher: pulls the trained int8 model from Edge Impulse into the model store."""
