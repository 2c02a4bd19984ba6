"""Data collection: pick frames worth labelling, keep them, label them, upload them.

`strategies` decides, `samples` stores, `uploader` sends to Edge Impulse,
`export` zips, `collector` runs it all on the service, `routes` serves it.
"""
