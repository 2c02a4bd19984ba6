"""Load a downloaded model in a short-lived child process, so the poller stays small.

The store checks a model by loading it in the interpreter (`model_store.
check_model`). Done in the polling process, that keeps LiteRT and numpy in
its memory for good (about 30 MB) for a check that happens once per new
model. `CHILD` is a `Runtime` for `ModelStore.install` whose "interpreter"
runs `python -m model_fetcher.child_check` on the model's bytes and reports
the tensors it read, or the error the real interpreter raised, which the
store turns into the same `ModelError` as in-process.

    python -m model_fetcher.child_check < model.tflite   # prints the tensors as JSON
"""

import json
import subprocess
import sys
from typing import Any

from model_store import Runtime, load_interpreter, load_runtime

TIMEOUT = 60.0  # seconds for the child to load a model


class _Dtype:
    """Stands for a numpy dtype: what the store reads of it is its name."""

    def __init__(self, name: str) -> None:
        self.__name__ = name


class ChildInterpreter:
    """The part of an interpreter the store's check uses, answered by a child process."""

    def __init__(self, model_content: bytes, num_threads: int = 1) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "model_fetcher.child_check"],
            input=model_content,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        answer = json.loads(done.stdout or b"{}")
        if done.returncode or "error" in answer:
            raise RuntimeError(answer.get("error") or done.stderr.decode(errors="replace")[-500:])
        self._details = answer

    def allocate_tensors(self) -> None:
        """Done by the child already."""

    def get_input_details(self) -> list[dict[str, Any]]:
        return [self._tensor("input")]

    def get_output_details(self) -> list[dict[str, Any]]:
        return [self._tensor("output")]

    def _tensor(self, which: str) -> dict[str, Any]:
        tensor = self._details[which]
        return {"shape": tensor["shape"], "dtype": _Dtype(tensor["dtype"])}


CHILD = Runtime(ChildInterpreter, "checked in a child process")


def main() -> None:
    content = sys.stdin.buffer.read()
    try:
        interpreter = load_interpreter(load_runtime(), content, "the model")
    except Exception as error:  # the store's ModelError, said in the parent's words
        print(json.dumps({"error": str(error.__cause__ or error)}))
        return
    details = {}
    for which, tensors in (
        ("input", interpreter.get_input_details()),
        ("output", interpreter.get_output_details()),
    ):
        tensor = tensors[0]
        details[which] = {
            "shape": [int(n) for n in tensor["shape"]],
            "dtype": tensor["dtype"].__name__,
        }
    print(json.dumps(details))


if __name__ == "__main__":
    main()
