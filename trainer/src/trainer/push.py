"""`trainer push`: install DIR/model.zip on a device through `POST /api/models`."""

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

from .errors import TrainerError

TIMEOUT = 120.0


def push(model: Path, device: str, username: str | None, password: str | None) -> dict:
    """Send MODEL to DEVICE; the device's answer (the new version). TrainerError when refused."""
    try:
        body = model.read_bytes()
    except OSError as error:
        raise TrainerError(f"cannot read {model}: {error.strerror or error}") from None
    url = device.rstrip("/") + "/api/models"
    if not url.startswith(("http://", "https://")):
        raise TrainerError(f"--device {device!r} is not a URL: expected e.g. http://camera.local")
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/zip")
    if username or password:
        token = base64.b64encode(f"{username or ''}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise TrainerError(_refusal(error, url)) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TrainerError(f"cannot reach {url}: {reason}") from None
    except ValueError:
        raise TrainerError(f"{url} answered something that is not JSON") from None


def _refusal(error: urllib.error.HTTPError, url: str) -> str:
    if error.code == 401:
        return f"{url} refused the credentials (401): give the device's --username and --password"
    try:
        reason = json.loads(error.read()).get("error", "")
    except (ValueError, AttributeError, OSError):
        reason = ""
    if error.code == 400:
        return f"the device refused the model (400): {reason}"
    return f"{url} answered {error.code} {error.reason}" + (f": {reason}" if reason else "")
