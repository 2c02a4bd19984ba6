"""Every environment variable the services read is documented, and every one documented is read.

Read: each call in the services' Python code (and appliance-common's) that
takes a variable's name after `env` (`env.get("NAME")`, `number(env, "NAME",
…)`, `read(parse, "NAME", …)` in outputs-service), and the variables the
containers' entry scripts use. Documented: the first column of each
`| variable |` table in README.md, docs/*.md and the services' READMEs.
"""

import ast
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ["appliance-common", "camera-service", "inference-service", "model-fetcher",
        "outputs-service"]  # fmt: skip
SCRIPTS = [ROOT / "camera-service" / "entry.sh", ROOT / "mqtt" / "entrypoint.sh"]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        *(ROOT / name / "README.md" for name in CODE)]  # fmt: skip
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Set by the system or by balena, read for a default, not settings of the appliance.
NOT_SETTINGS = {"BALENA_DEVICE_UUID"}


def names_in_call(call: ast.Call) -> set[str]:
    args = call.args
    found = set()
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ("get", "getenv") and args:
        owner = func.value
        is_env = isinstance(owner, ast.Name) and owner.id == "env"
        is_os = isinstance(owner, ast.Attribute) and owner.attr == "environ"
        if (is_env or is_os or func.attr == "getenv") and isinstance(args[0], ast.Constant):
            found.add(args[0].value)
    for before, after in itertools.pairwise(args):
        if isinstance(before, ast.Name) and isinstance(after, ast.Constant):
            is_env = before.id == "env"
            is_parser = isinstance(func, ast.Name) and func.id == "read"
            if (is_env or is_parser) and isinstance(after.value, str):
                found.add(after.value)
    return {name for name in found if isinstance(name, str) and NAME.fullmatch(name)}


def read_in_code() -> set[str]:
    found: set[str] = set()
    for service in CODE:
        for path in (ROOT / service / "src").rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    found |= names_in_call(node)
    return found - NOT_SETTINGS


def read_in_scripts() -> set[str]:
    found: set[str] = set()
    for script in SCRIPTS:
        found |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", script.read_text()))
    return found


def documented() -> set[str]:
    found: set[str] = set()
    for page in DOCS:
        in_table = False
        for line in page.read_text().splitlines():
            if line.startswith("| variable "):
                in_table = True
            elif not line.startswith("|"):
                in_table = False
            elif in_table:
                first = line.split("|")[1]
                found |= set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", first))
    return found


def test_every_variable_read_is_documented():
    missing = read_in_code() - documented()
    assert not missing, f"read in the code, in no variables table of the docs: {sorted(missing)}"


def test_every_variable_documented_is_read():
    unknown = documented() - read_in_code() - read_in_scripts()
    assert not unknown, f"in a variables table, read nowhere: {sorted(unknown)}"


def test_the_reading_is_found_at_all():
    """The scan sees the forms the code uses (else both tests above would pass on nothing)."""
    code = read_in_code()
    assert {"CAMERA_SOURCE", "COUNT_INTERVAL", "SPEAK", "WEBHOOK_QUEUE", "rotation"} <= code
    assert {"EI_API_KEY", "MQTT_URL", "NUM_THREADS", "MODEL_POLL_INTERVAL"} <= code
