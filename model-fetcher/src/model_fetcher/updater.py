"""Keep the store's current model in step with the Edge Impulse project.

One check: ask `last-modification`; when it differs from what the newest
Edge Impulse version in the store was fetched at, download, check and install
the new model: the int8 `.tflite`, or the `.eim` built for this device
(`MODEL_RUNTIME` chooses; see docs/runtimes.md). It becomes current only
when the current model came from Edge Impulse or is the bundled demo;
beside a model installed by hand or from `trainer` it waits until the user
picks it. A failure of any step leaves the current model in service and is
logged in one line.
"""

import logging
import threading
from dataclasses import replace

from model_store import (
    MODEL_FILE,
    YIELDING_SOURCES,
    ModelError,
    ModelInfo,
    ModelStore,
    StoreError,
)

from .child_check import CHILD
from .edge_impulse import EdgeImpulseClient, EdgeImpulseError, Project, RemoteModel

log = logging.getLogger(__name__)

LAST_MODIFICATION = "last_modification"
DEPLOYMENT_VERSION = "deployment_version"
EIM_FILE = "model.eim"


class Updater:
    def __init__(
        self,
        client: EdgeImpulseClient,
        store: ModelStore,
        project_id: int | None = None,
        impulse_id: int | None = None,
        runtime: str = "auto",
        deployment_type: str | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.project_id = project_id
        self.impulse_id = impulse_id
        self.runtime = runtime  # MODEL_RUNTIME: auto, tflite or eim
        self.deployment_type = deployment_type  # EI_DEPLOYMENT_TYPE
        self._project: Project | None = None

    def update(self) -> bool:
        """Check once and fetch when the project changed; False when that failed."""
        try:
            self._update()
        except (EdgeImpulseError, ModelError, StoreError, OSError) as error:
            log.error("model update failed, %s: %s", self._keeping(), error)
            return False
        return True

    def run(self, interval: float, stop: threading.Event) -> None:
        """Check now, then every `interval` seconds until `stop` is set."""
        self.update()
        while not stop.wait(interval):
            self.update()

    def _update(self) -> None:
        project = self._find_project()
        changed = self.client.last_modification(project.id)
        latest = self.store.latest("edge-impulse")
        if _is_up_to_date(latest, project, changed) and self.runtime in ("auto", latest.runtime):
            log.info("model %s is up to date (project modified %s)", latest.describe(), changed)
            return
        log.info("project %s (%d) modified %s: fetching", project.name, project.id, changed)
        current = self.store.current()
        make_current = current is None or current.source in YIELDING_SOURCES
        info = self._fetch(project, changed, make_current)
        if make_current:
            log.info("installed model %s", info.describe())
        else:
            log.info(
                "installed model %s beside the current %s v%s (source %s), which stays "
                "current until another is picked",
                info.describe(), current.name, current.version, current.source,
            )  # fmt: skip

    def _find_project(self) -> Project:
        if self._project is None:
            self._project = self.client.find_project(self.project_id)
            log.info("Edge Impulse project: %s (%d)", self._project.name, self._project.id)
        return self._project

    def _fetch(self, project: Project, changed: str, make_current: bool) -> ModelInfo:
        remote = self.client.remote_model(project, self.impulse_id)
        with self.store.staging() as staging:
            if self._runtime_for(remote) == "eim":
                info = self._download_eim(remote, staging, changed)
            else:
                sha256 = self.client.download_model(remote, staging / MODEL_FILE)
                extra = {**remote.info.extra, LAST_MODIFICATION: changed}
                info = replace(remote.info, sha256=sha256, has_anomaly=False, extra=extra)
            # Checked in a child process: the poller never loads LiteRT (memory).
            return self.store.install(staging, info, CHILD, make_current=make_current)

    def _runtime_for(self, remote: RemoteModel) -> str:
        """MODEL_RUNTIME's choice: auto takes the int8 .tflite when it is the whole impulse."""
        if self.runtime == "tflite" and remote.info.model_type == "object_detection":
            raise EdgeImpulseError(
                "MODEL_RUNTIME=tflite but the impulse is SSD/YOLO-class object detection, "
                "which only the .eim runs: set MODEL_RUNTIME=auto or eim"
            )
        if self.runtime == "auto":
            return "tflite" if remote.tflite_ok else "eim"
        return self.runtime

    def _download_eim(self, remote: RemoteModel, staging, changed: str) -> ModelInfo:
        """Build the .eim when needed, download it for EI_DEPLOYMENT_TYPE, make it executable."""
        target = self.deployment_type
        if target is None:
            raise EdgeImpulseError(
                "this machine's architecture has no Edge Impulse runner build: set "
                "EI_DEPLOYMENT_TYPE to runner-linux-aarch64, runner-linux-armv7 or "
                "runner-linux-x86_64"
            )
        project, impulse = remote.project, remote.info.impulse_id
        version = self.client.deployment(project, target, impulse)
        latest = self.store.latest("edge-impulse")
        retrained = (
            latest is not None
            and latest.runtime == "eim"
            and latest.extra.get(DEPLOYMENT_VERSION) == version
        )
        if version is None or retrained:
            why = "none built yet" if version is None else "the project was retrained since"
            log.info("building the .eim for %s (%s)", target, why)
            self.client.wait_for_job(project, self.client.build(project, target, impulse))
            version = self.client.deployment(project, target, impulse)
        path = staging / EIM_FILE
        sha256 = self.client.download_deployment(project, target, impulse, path)
        path.chmod(0o755)
        extra = {**remote.info.extra, LAST_MODIFICATION: changed, DEPLOYMENT_VERSION: version}
        arch = target.removeprefix("runner-linux-")
        return replace(remote.info, runtime="eim", arch=arch, sha256=sha256, extra=extra)

    def _keeping(self) -> str:
        current = self.store.current()
        if current is None:
            return "no model installed yet"
        return f"keeping model {current.name} v{current.version}"


def _is_up_to_date(latest: ModelInfo | None, project: Project, changed: str) -> bool:
    return (
        latest is not None
        and latest.project_id == project.id
        and latest.extra.get(LAST_MODIFICATION) == changed
    )
