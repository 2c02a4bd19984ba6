"""Replay each service's Dockerfile in a Debian chroot of another CPU, then run the services.

    sudo python3 tools/replay_images.py [--arch arm64] [--work /var/tmp/edge-replay]

Dev-time only (not in CI): there is no Docker engine or Raspberry Pi here, so
this is the nearest thing to `balena push` for a Pi 4/5. Needs root,
`debootstrap` and `qemu-user-static` (apt), and binfmt_misc with qemu's
handlers registered (Debian's qemu-user-static does that through
systemd-binfmt; in a container without it, mount binfmt_misc and write
/usr/lib/binfmt.d/qemu-aarch64.conf's line into its `register`).

1. `debootstrap --variant=minbase bookworm` for the architecture: the
   nearest thing to `debian:bookworm-slim` (reused on later runs).
2. For each service, a copy of it; each Dockerfile instruction replayed in
   order: ARG (BALENA_ARCH is the balena arch of --arch), ENV, SHELL,
   WORKDIR, COPY (from the repository, less what .dockerignore drops) and
   RUN in the chroot, under qemu. A RUN that needs Raspberry Pi's apt
   archive is reported as skipped when that archive cannot be reached.
3. Its size, as `du` counts the tree (a Docker image's uncompressed size is
   close to it), and the time of each step.
4. The services started from their chroots on loopback, as compose would:
   model-fetcher installs the demo model into a shared folder and exits,
   inference-service loads it and `/classify` must say `cat` for the demo
   cat photo, camera-service (through its ENTRYPOINT and CMD) must serve the
   page and report a running camera. All three are stopped with SIGTERM.
5. In the camera image, privacy mode's face detector must find the demo
   astronaut's face (also with --no-run).

The report is printed (markdown) and written to WORK/report-ARCH.md.
"""

import argparse
import json
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("inference-service", "model-fetcher", "camera-service")
BALENA_ARCH = {"arm64": "aarch64", "armhf": "armv7hf", "amd64": "amd64"}
MIRROR = "http://deb.debian.org/debian"
DOCKER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IGNORED = shutil.ignore_patterns("tests", "build", "__pycache__", "*.egg-info")
START_TIMEOUT = 900.0  # seconds; Python under qemu-user starts slowly

log = logging.getLogger("replay")


@dataclass
class Image:
    service: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    shell: list[str] = field(default_factory=lambda: ["/bin/sh", "-c"])
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    steps: list[tuple[str, float, str]] = field(default_factory=list)  # (step, seconds, outcome)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="arm64", choices=sorted(BALENA_ARCH))
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/edge-replay"))
    parser.add_argument("--services", nargs="+", default=list(SERVICES), choices=SERVICES)
    parser.add_argument("--no-run", action="store_true", help="build only, start nothing")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the images an earlier run built; only run them"
    )
    parser.add_argument(
        "--numpy-check-only",
        action="store_true",
        help="only the numpy check, in the camera-service chroot an earlier run built",
    )
    return parser.parse_args(argv)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        lines.append(current)
        current = ""
    result = []
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def json_or_shell(text: str) -> list[str]:
    return json.loads(text) if text.startswith("[") else ["/bin/sh", "-c", text]


def expand(value: str, env: dict[str, str]) -> str:
    for key, known in sorted(env.items(), key=lambda item: -len(item[0])):
        value = value.replace(f"${{{key}}}", known).replace(f"${key}", known)
    return value


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    log.debug("$ %s", shlex.join(command))
    return subprocess.run(command, check=True, **kwargs)


def base_root(work: Path, arch: str) -> Path:
    root = work / f"base-{arch}"
    if not (root / ".replay-base").exists():
        remove_tree(root)
        log.info("debootstrap bookworm %s into %s", arch, root)
        run(["debootstrap", f"--arch={arch}", "--variant=minbase", "bookworm", str(root), MIRROR])
        run(["chroot", str(root), "apt-get", "clean"])
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        (root / ".replay-base").touch()
    return root


class Mounts:
    """/proc and /dev inside a chroot, and the host's resolv.conf.

    Not /sys: under qemu-user it describes this machine's x86 CPUs, and
    TFLite's cpuinfo then crashes the interpreter (SIGSEGV in
    `Interpreter.__init__`); without it cpuinfo falls back and runs.
    """

    def __init__(self, root: Path, extra: list[tuple[Path, str]] = ()) -> None:
        self.root = root
        self.extra = list(extra)
        self.mounted: list[Path] = []

    def __enter__(self) -> "Mounts":
        shutil.copy("/etc/resolv.conf", self.root / "etc/resolv.conf")
        self._mount(["-t", "proc", "proc"], "proc")
        self._mount(["--rbind", "/dev"], "dev")
        for source, target in self.extra:
            source.mkdir(parents=True, exist_ok=True)
            self._mount(["--bind", str(source)], target.lstrip("/"))
        return self

    def _mount(self, args: list[str], target: str) -> None:
        path = self.root / target
        path.mkdir(parents=True, exist_ok=True)
        run(["mount", *args, str(path)])
        self.mounted.append(path)

    def __exit__(self, *exc: object) -> None:
        for path in reversed(self.mounted):
            subprocess.run(["umount", "-R", "-l", str(path)], check=False)
        self.mounted.clear()


def remove_tree(root: Path) -> None:
    """Delete ROOT, first unmounting anything still mounted under it (an interrupted run
    leaves /dev bound there, and deleting through that would delete the host's /dev)."""
    prefix = str(root.resolve()) + "/"
    for line in reversed(Path("/proc/mounts").read_text().splitlines()):
        target = line.split()[1]
        if target.startswith(prefix):
            subprocess.run(["umount", "-R", "-l", target], check=False)
    mounts = Path("/proc/mounts").read_text().splitlines()
    if any(line.split()[1].startswith(prefix) for line in mounts):
        raise RuntimeError(f"cannot unmount everything under {root}; not deleting it")
    shutil.rmtree(root, ignore_errors=True)


def reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=10).close()
        return True
    except (OSError, urllib.error.URLError):
        return False


def build(service: str, arch: str, work: Path) -> Image:
    image = Image(service, work / arch / service)
    remove_tree(image.root)
    image.root.parent.mkdir(parents=True, exist_ok=True)
    run(["cp", "-a", str(base_root(work, arch)), str(image.root)])
    (image.root / ".replay-base").unlink()
    args: dict[str, str] = {}
    image.env = {"PATH": DOCKER_PATH, "HOME": "/root"}
    with Mounts(image.root):
        for word, rest in instructions(ROOT / service / "Dockerfile.template"):
            started = time.monotonic()
            outcome = replay(image, arch, word, rest, args)
            if word in ("RUN", "COPY"):
                image.steps.append((f"{word} {rest[:70]}", time.monotonic() - started, outcome))
                log.info("%s %s: %s in %.0f s", service, word, outcome, image.steps[-1][1])
    (image.root / "replay-ca.crt").unlink(missing_ok=True)
    return image


def replay(image: Image, arch: str, word: str, rest: str, args: dict[str, str]) -> str:
    env = {**args, **image.env}
    if word == "ARG":
        name, _, default = rest.partition("=")
        args[name] = BALENA_ARCH[arch] if name == "BALENA_ARCH" else default
    elif word == "ENV":
        for item in shlex.split(rest):
            key, _, value = item.partition("=")
            image.env[key] = expand(value, env)
    elif word == "SHELL":
        image.shell = json.loads(rest)
    elif word == "WORKDIR":
        image.workdir = expand(rest, env)
        (image.root / image.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    elif word == "COPY":
        *sources, target = shlex.split(rest)
        for source in sources:
            copy_in(image, ROOT / source, target)
    elif word == "RUN":
        env.update(build_env(image.root))
        if "archive.raspberrypi.com" in rest and not reachable(
            "https://archive.raspberrypi.com/debian/dists/bookworm/InRelease"
        ):
            return "skipped (Raspberry Pi's archive unreachable from here)"
        command = in_chroot(image.root, env)
        command += [*image.shell, f"cd {shlex.quote(image.workdir)} && {rest}"]
        run(command)
        return "ok"
    elif word == "ENTRYPOINT":
        image.entrypoint = json_or_shell(rest)
    elif word == "CMD":
        image.cmd = json_or_shell(rest)
    return "ok"


def in_chroot(root: Path, env: dict[str, str]) -> list[str]:
    """The start of a command run inside ROOT with ENV and nothing else, as in a container."""
    return ["chroot", str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items())]


def build_env(root: Path) -> dict[str, str]:
    """Build-time only: this machine's CA bundle for pip, where its HTTPS goes through a proxy."""
    bundle = os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE")
    if not bundle or not Path(bundle).is_file():
        return {}
    shutil.copy(bundle, root / "replay-ca.crt")
    return {"PIP_CERT": "/replay-ca.crt"}


def copy_in(image: Image, source: Path, target: str) -> None:
    dest = Path(target) if target.startswith("/") else Path(image.workdir) / target
    dest = image.root / str(dest).lstrip("/")
    if source.is_dir():
        shutil.copytree(source, dest, ignore=IGNORED, dirs_exist_ok=True)
    else:
        if target.endswith("/"):
            dest = dest / source.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def size_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sxk", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(image: Image, env: dict[str, str], data: Path) -> tuple[subprocess.Popen, Mounts]:
    mounts = Mounts(image.root, [(data, "/data")]).__enter__()
    command = in_chroot(image.root, {**image.env, **env})
    command += ["/bin/sh", "-c", f'cd {shlex.quote(image.workdir)} && exec "$@"', "-"]
    command += image.entrypoint + image.cmd
    logfile = (data.parent / f"{image.service}.log").open("w")
    process = subprocess.Popen(command, stdout=logfile, stderr=subprocess.STDOUT)
    return process, mounts


def wait_for(url: str, process: subprocess.Popen, timeout: float = START_TIMEOUT) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the service exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.read()
        except (OSError, urllib.error.URLError):
            time.sleep(2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return time.monotonic() - started


def run_services(images: dict[str, Image], work: Path, arch: str) -> list[str]:
    """Start the three services like compose does; every check that passed, as lines."""
    data = work / arch / "run" / "data"
    remove_tree(data.parent)
    data.mkdir(parents=True)
    results = []

    started = time.monotonic()
    fetcher, mounts = start(images["model-fetcher"], {"MODEL_DIR": "/data/models"}, data)
    try:
        code = fetcher.wait(START_TIMEOUT)
    finally:
        mounts.__exit__()
    assert code == 0, f"model-fetcher exited with {code}"
    seconds = time.monotonic() - started
    results.append(f"model-fetcher installed the demo model and exited 0 ({seconds:.0f} s)")

    inference_port, camera_port = free_port(), free_port()
    processes = []
    try:
        started = time.monotonic()
        inference = start(
            images["inference-service"],
            {"MODEL_DIR": "/data/models", "PORT": str(inference_port)},
            data,
        )
        processes.append(inference)
        base = f"http://127.0.0.1:{inference_port}"
        wait_for(f"{base}/healthz", inference[0])
        results.append(f"inference-service /healthz 200 after {time.monotonic() - started:.0f} s")
        photo = ROOT / "camera-service/src/camera_service/demo_photos/cat.jpg"
        request = urllib.request.Request(f"{base}/classify", data=photo.read_bytes())
        answer = json.loads(urllib.request.urlopen(request, timeout=120).read())
        assert answer["top"]["label"] == "cat", answer
        results.append(f"/classify cat.jpg: top {answer['top']['label']} {answer['top']['value']}")

        started = time.monotonic()
        camera = start(
            images["camera-service"],
            {
                "PORT": str(camera_port),
                "INFERENCE_URL": f"ws://127.0.0.1:{inference_port}",
                "UDEV": "0",  # never a second udevd on the build machine
            },
            data,
        )
        processes.append(camera)
        base = f"http://127.0.0.1:{camera_port}"
        page = wait_for(f"{base}/", camera[0])
        assert b"<html" in page.lower() or b"<!doctype" in page.lower(), page[:200]
        results.append(f"camera-service serves the page after {time.monotonic() - started:.0f} s")
        wait_for(f"{base}/healthz", camera[0])
        status = json.loads(wait_for(f"{base}/api/status", camera[0]))
        results.append(f"camera-service /api/status camera: {json.dumps(status['camera'])}")
        deadline = time.monotonic() + START_TIMEOUT
        while status["inference"]["state"] != "online" and time.monotonic() < deadline:
            time.sleep(2)
            status = json.loads(wait_for(f"{base}/api/status", camera[0]))
        results.append(f"camera-service inference: {json.dumps(status['inference'])}")
    finally:
        for process, mounts in reversed(processes):
            seconds = stop(process)
            mounts.__exit__()
            results.append(f"SIGTERM: exit {process.returncode} after {seconds:.1f} s")
    return results


NUMPY_PROBE = (
    "import numpy, numexpr; "
    "print('numpy', numpy.__version__, 'from', numpy.__file__); "
    "print('numexpr (Debian, built for numpy 1.24) from', numexpr.__file__); "
    "print('evaluate ->', numexpr.evaluate('a * 2', {'a': numpy.arange(3)}))"
)


def numpy_check(image: Image) -> list[str]:
    """Do modules the OS compiled against numpy 1.24 import in the camera's venv?

    Raspberry Pi's simplejpeg and libcamera bindings cannot be installed
    here, so Debian's python3-numexpr (also compiled against bookworm's
    numpy 1.24) stands in: it must import under the venv's numpy, and must
    not under a numpy 2 venv (the failure the pins avoid). Run after the
    image was measured; it installs into the chroot.
    """
    results = []
    with Mounts(image.root):
        chroot = in_chroot(image.root, {"PATH": DOCKER_PATH, **build_env(image.root)})
        install = "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
        run([*chroot, "/bin/sh", "-c", install + "python3-numexpr >/dev/null"])
        ok = subprocess.run(
            [*chroot, "/opt/venv/bin/python", "-c", NUMPY_PROBE], capture_output=True, text=True
        )
        results.append(f"camera venv + OS numexpr: exit {ok.returncode}: {ok.stdout.strip()}")
        numpy2 = (
            "python3 -m venv --system-site-packages /tmp/np2 "
            "&& /tmp/np2/bin/pip install -q numpy==2.4.6 && /tmp/np2/bin/python -c "
            + shlex.quote(NUMPY_PROBE)
        )
        bad = subprocess.run([*chroot, "/bin/sh", "-c", numpy2], capture_output=True, text=True)
        why = [line for line in bad.stderr.splitlines() if "NumPy" in line or "Error" in line]
        results.append(f"numpy 2.4.6 venv + OS numexpr: exit {bad.returncode}: {why[:2]}")
    return results


FACE_PROBE = (
    "import time, cv2; "
    "from importlib.resources import files; "
    "from camera_service.privacy.detector import CenterFace; "
    "photo = files('camera_service') / 'demo_photos' / 'astronaut.jpg'; "
    "image = cv2.resize(cv2.imread(str(photo)), (640, 480)); "
    "detector = CenterFace(); started = time.process_time(); boxes = detector.detect(image); "
    "print(len(boxes), 'face(s)', [tuple(round(v) for v in (b.x, b.y, b.width, b.height)) "
    "for b in boxes], f'{(time.process_time() - started) * 1000:.0f} ms CPU under emulation')"
)


def face_check(image: Image) -> list[str]:
    """Privacy mode's detector (int8, LiteRT) on the demo astronaut, in the camera image."""
    with Mounts(image.root):
        chroot = in_chroot(image.root, {"PATH": DOCKER_PATH})
        probe = subprocess.run(
            [*chroot, "/opt/venv/bin/python", "-c", FACE_PROBE], capture_output=True, text=True
        )
    errors = [line for line in probe.stderr.splitlines() if "INFO:" not in line][-3:]
    return [f"camera face detector: exit {probe.returncode}: {probe.stdout.strip()} {errors}"]


def report(arch: str, images: dict[str, Image], sizes: dict[str, float], checks: list[str]) -> str:
    lines = [f"# Replay for {arch} ({BALENA_ARCH[arch]})", ""]
    lines += ["| image | size (MB, du) | build steps (s) |", "|---|---|---|"]
    for name, size in sizes.items():
        steps = images[name].steps if name in images else []
        total = sum(seconds for _, seconds, _ in steps)
        lines.append(f"| {name} | {size:.0f} | {total:.0f} |")
    for name, image in images.items():
        lines += ["", f"## {name}", ""]
        lines += [f"- {sec:6.0f} s {outcome}: `{step}`" for step, sec, outcome in image.steps]
    if checks:
        lines += ["", "## Services started", ""] + [f"- {line}" for line in checks]
    return "\n".join(lines) + "\n"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # SIGTERM unwinds like Ctrl-C, so every chroot's mounts are released.
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if args.numpy_check_only:
        camera = Image("camera-service", args.work / args.arch / "camera-service")
        log.info("numpy check:\n%s", "\n".join(numpy_check(camera)))
        return 0
    base = base_root(args.work, args.arch)
    sizes = {"base (bookworm minbase)": size_mb(base)}
    images = {}
    for service in args.services:
        saved = args.work / args.arch / f"{service}.json"
        if args.reuse and saved.exists():
            images[service] = Image(**{**json.loads(saved.read_text()), "service": service})
            images[service].root = Path(images[service].root)
        else:
            images[service] = build(service, args.arch, args.work)
            record = {k: v for k, v in vars(images[service]).items() if k != "service"}
            saved.write_text(json.dumps({**record, "root": str(images[service].root)}))
        sizes[service] = size_mb(images[service].root)
        log.info("%s built: %.0f MB", service, sizes[service])
    checks = [] if args.no_run else run_services(images, args.work, args.arch)
    if "camera-service" in images and args.arch == "arm64":  # the Pi builds, with picamera2
        checks += numpy_check(images["camera-service"])
    if "camera-service" in images:
        checks += face_check(images["camera-service"])
    checks.append(f"total wall time {time.monotonic() - started:.0f} s")
    text = report(args.arch, images, sizes, checks)
    (args.work / f"report-{args.arch}.md").write_text(text)
    log.info("report:\n%s", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
