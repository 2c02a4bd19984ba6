"""Event clips (`CLIPS=on`): the seconds around what the model saw, cut from the stream's own
H.264 packets, as MP4 files a browser plays.

The part (`part.py`, what the app uses) takes every packet of the shared
encoder (`SharedH264.listeners`; it keeps the encoder running with a
keyframe at least every 2 s) and every inference result (the app's result
listeners). It gives the `/api/clips` routes, a `clips` block in
`/api/status`, metrics, and each finished clip's record to its listeners
(the page's events, `P/clip`). `recorder.py` cuts clips, `mp4.py` remuxes,
`store.py` keeps them on disk.
"""
