"""Models from the page and from the host: list, install (a zip or a bare .tflite), roll back.

`upload` turns a request body into a checked version of the model store
(model-store's own checks, as model-fetcher checks a download); `routes`
serves it. The store is `MODEL_DIR`, shared with inference-service, which
picks a new current model up by itself.
"""
