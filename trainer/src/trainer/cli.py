"""`trainer train EXPORT.zip --out DIR` and `trainer push DIR/model.zip --device URL`.

The report goes to stdout, progress to stderr. A problem the user can fix
(bad input, a device that refuses) is one line on stderr and exit status 1;
a bad command line is argparse's usage and status 2.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

from .errors import TrainerError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="trainer", description="Train on this machine from the appliance's export.zip."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model from an export.zip")
    train.add_argument("export", type=Path, help="the appliance's /api/samples/export.zip")
    train.add_argument("--out", type=Path, required=True, help="folder for model.zip")
    train.add_argument("--kind", choices=("classification", "fomo"), default="classification")
    train.add_argument("--size", type=int, default=96, help="input width and height (default 96)")
    train.add_argument("--epochs", type=int, default=30, help="at most (default 30)")
    train.add_argument("--weights", choices=("imagenet", "none"), default="imagenet",
                       help="start from ImageNet (downloaded once) or from scratch")  # fmt: skip
    train.add_argument("--name", help="the model's name (default: the export's file name)")
    train.add_argument("--quiet", action="store_true", help="no progress, only the report")
    push = commands.add_parser("push", help="install a model.zip on a device")
    push.add_argument("model", type=Path)
    push.add_argument("--device", required=True, help="the camera's URL, e.g. http://camera.local")
    push.add_argument("--username", help="the device's `username`, when it has one")
    push.add_argument("--password", help="the device's `password`")
    args = parser.parse_args(argv)
    if args.command == "train" and not 32 <= args.size <= 640:
        parser.error(f"--size {args.size}: expected 32 to 640")
    if args.command == "train" and args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: expected at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "push":
            return _push(args)
        return _train(args)
    except TrainerError as error:
        sys.stderr.write(f"trainer: {error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("trainer: stopped; no model written\n")
        return 130


def _train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    logging.getLogger("absl").setLevel(logging.ERROR)
    from .training import Options, run  # TensorFlow loads here, not for `push`

    options = Options(
        export=args.export,
        out=args.out,
        kind=args.kind,
        size=args.size,
        epochs=args.epochs,
        weights=args.weights,
        name=args.name,
        quiet=args.quiet,
    )
    for line in run(options):
        sys.stdout.write(line + "\n")
    return 0


def _push(args: argparse.Namespace) -> int:
    from .push import push

    answer = push(args.model, args.device, args.username, args.password)
    sys.stdout.write(
        f"installed {answer.get('name')} version {answer.get('version')} on {args.device}; "
        "it is the current model now\n"
    )
    return 0
