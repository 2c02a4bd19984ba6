"""The typed errors a request can end in; the server turns them into replies."""

HTTP_STATUS = {"bad_image": 400, "bad_request": 400, "too_large": 413, "no_model": 503}


class RequestError(Exception):
    """A request the service refuses: `code` is one of the contract's error codes."""

    def __init__(self, code: str, message: str, request_id: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id  # when known before the request was understood

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]
