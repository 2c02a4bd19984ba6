"""camera-service's container entry script, run for real with fake udev tools on PATH.

The fakes (udevd, udevadm, unshare, mount) record how they were called; the
"service" records its PID, which must be the script's own: the script execs
the service so it is PID 1 in the container and gets SIGTERM itself.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "camera-service" / "entry.sh"

FAKE = """#!/bin/sh
echo "{name} $*" >> "$FAKE_LOG"
{body}
"""


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "tmp").mkdir()
    return bin_dir


def fake(bin_dir: Path, name: str, body: str = "exit 0") -> None:
    path = bin_dir / name
    path.write_text(FAKE.format(name=name, body=body))
    path.chmod(0o755)


def udev_tools(bin_dir: Path, udevd: str = "exit 0", settle: str = "exit 0") -> None:
    fake(bin_dir, "udevd", udevd)
    fake(bin_dir, "udevadm", f'[ "$1" = settle ] && {{ {settle}; }}; exit 0')
    fake(bin_dir, "mount")
    fake(bin_dir, "unshare", 'shift; exec "$@"')  # drop --net, run the rest


def run_entry(bin_dir: Path, env: dict[str, str], *command: str) -> tuple[int, str, str, list]:
    tmp = bin_dir.parent
    service = tmp / "service"
    service.write_text('#!/bin/sh\necho "service $$ $*" >> "$FAKE_LOG"\nexit 7\n')
    service.chmod(0o755)
    log = tmp / "calls.log"
    log.write_text("")
    # Only the fakes and the few real tools the script needs (sh, mktemp,
    # mkdir, rmdir): no real udevd, udevadm or mount can be reached.
    real = tmp / "real"
    real.mkdir(exist_ok=True)
    for tool in ("mktemp", "mkdir", "rmdir"):
        target = real / tool
        if not target.exists():
            target.symlink_to(shutil.which(tool))
    process = subprocess.Popen(
        ["/bin/sh", str(SCRIPT), *(command or [str(service), "--flag"])],
        env={
            "PATH": f"{bin_dir}:{real}",
            "FAKE_LOG": str(log),
            "TMPDIR": str(tmp / "tmp"),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _out, err = process.communicate(timeout=30)
    calls = [line.split(" ", 1) for line in log.read_text().splitlines()]
    return process.returncode, err, str(process.pid), calls


def test_without_udev_the_service_is_execed_with_its_arguments(fakes):
    udev_tools(fakes)
    code, err, pid, calls = run_entry(fakes, {})
    assert code == 7  # the service's own exit status
    assert calls == [["service", f"{pid} --flag"]]  # same PID: exec, not a child
    assert err == ""


@pytest.mark.parametrize("value", ["1", "on", "true", "yes"])
def test_udev_on_starts_udevd_then_registers_devices_then_execs(fakes, value):
    udev_tools(fakes)
    code, err, pid, calls = run_entry(fakes, {"UDEV": value})
    names = [name for name, _ in calls]
    assert code == 7
    assert names[-4:] == ["udevd", "udevadm", "udevadm", "service"]
    assert calls[-4][1] == "--daemon"
    assert calls[-3][1] == "trigger --action=add"
    assert calls[-2][1].startswith("settle --timeout=")
    assert calls[-1][1] == f"{pid} --flag"
    unshare = [args for name, args in calls if name == "unshare"]
    assert unshare == ["--net udevd --daemon"]  # udevd never touches the host's network
    mounts = [args for name, args in calls if name == "mount"]
    assert mounts[0].startswith("-t devtmpfs none ")
    assert mounts[-1].endswith(" /dev") and mounts[-1].startswith("--move ")
    assert "udev started" in err


def test_systemd_udevd_is_used_when_there_is_no_udevd(fakes):
    udev_tools(fakes)
    (fakes / "udevd").unlink()
    if not Path("/lib/systemd/systemd-udevd").exists():
        code, err, _pid, calls = run_entry(fakes, {"UDEV": "1"})
        assert code == 7
        assert [name for name, _ in calls] == ["service"]
        assert err.count("\n") == 1 and "this image has no udev" in err
    else:  # this machine has systemd's udevd: the script must pick it (through unshare)
        fake(fakes, "unshare", "exit 0")  # never start the real one here
        code, err, _pid, calls = run_entry(fakes, {"UDEV": "1"})
        assert ["unshare", "--net /lib/systemd/systemd-udevd --daemon"] in calls


def test_udevd_failing_is_one_loud_line_and_the_service_still_starts(fakes):
    udev_tools(fakes, udevd="exit 1")
    code, err, pid, calls = run_entry(fakes, {"UDEV": "1"})
    assert code == 7
    assert calls[-1] == ["service", f"{pid} --flag"]
    assert "udevadm" not in [name for name, _ in calls]
    assert err.strip().splitlines() == [
        "camera-entry: UDEV: starting udevd failed; libcamera may see no camera"
    ]


def test_settle_timing_out_is_said_and_the_service_still_starts(fakes):
    udev_tools(fakes, settle="exit 1")
    code, err, _pid, calls = run_entry(fakes, {"UDEV": "1", "UDEV_SETTLE_TIMEOUT": "3"})
    assert code == 7
    assert ["udevadm", "settle --timeout=3"] in calls
    assert "udevadm settle timed out" in err


def test_unprivileged_container_skips_the_fresh_dev_and_says_so(fakes):
    udev_tools(fakes)
    fake(fakes, "mount", "exit 32")
    code, err, pid, calls = run_entry(fakes, {"UDEV": "1"})
    assert code == 7
    assert [name for name, _ in calls].count("mount") == 1
    assert "cannot mount devtmpfs" in err
    assert calls[-1] == ["service", f"{pid} --flag"]


def test_a_failed_move_onto_dev_keeps_the_old_dev_and_still_starts(fakes):
    udev_tools(fakes)
    fake(fakes, "mount", '[ "$1" = --move ] && [ "$3" = /dev ] && exit 32; exit 0')
    fake(fakes, "umount")
    code, err, pid, calls = run_entry(fakes, {"UDEV": "1"})
    assert code == 7
    assert "cannot move the new devtmpfs onto /dev" in err
    assert [name for name, _ in calls][-4:] == ["udevd", "udevadm", "udevadm", "service"]
    assert calls[-1] == ["service", f"{pid} --flag"]


def test_a_bad_udev_value_stops_with_one_line_naming_it(fakes):
    udev_tools(fakes)
    code, err, _pid, calls = run_entry(fakes, {"UDEV": "maybe"})
    assert code == 2
    assert calls == []
    assert err.strip().splitlines() == [
        "camera-entry: UDEV must be 1/on/true/yes or 0/off/false/no (got 'maybe')"
    ]


def test_no_command_runs_camera_service(fakes):
    udev_tools(fakes)
    fake(fakes, "camera-service", "exit 5")
    log = fakes.parent / "calls.log"
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT)],
        env={"PATH": str(fakes), "FAKE_LOG": str(log)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 5
    assert log.read_text().splitlines() == ["camera-service "]


def test_the_dockerfile_runs_the_service_through_the_script():
    text = (ROOT / "camera-service" / "Dockerfile.template").read_text()
    assert "COPY camera-service/entry.sh /usr/local/bin/camera-entry" in text
    assert 'ENTRYPOINT ["/usr/local/bin/camera-entry"]' in text
    assert 'CMD ["camera-service"]' in text
    assert os.access(SCRIPT, os.X_OK)


def test_shellcheck_passes():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing (.ci/run installs it with apt)"
    result = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
