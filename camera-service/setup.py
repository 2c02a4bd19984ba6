"""One build step beyond pyproject.toml: the page goes inside the package.

The repository's `web/` is the page's only source. Every file in it is copied
into `camera_service/web/` of the built package (a wheel, or an sdist, which
then carries it for the wheel built from it), so any install serves the page;
an editable install serves `web/` of the checkout. `WEB_DIR` overrides both.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
PACKAGED = Path("camera_service") / "web"
# The checkout's web/ (or the Docker build's /src/web), else the copy inside an sdist.
SOURCES = (HERE.parent / "web", HERE / "src" / PACKAGED)


def web_source() -> Path:
    for folder in SOURCES:
        if (folder / "index.html").is_file():
            return folder
    raise SystemExit(
        f"camera-service: the page is missing: no index.html in {SOURCES[0]} "
        "(build from the repository, or from an sdist made there)"
    )


def copy_web(target: Path) -> None:
    source = web_source()
    if target.resolve() == source.resolve():
        return
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))


class BuildPyWithWeb(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            copy_web(Path(self.build_lib) / PACKAGED)


class SdistWithWeb(sdist):
    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        copy_web(Path(base_dir) / "src" / PACKAGED)


setup(cmdclass={"build_py": BuildPyWithWeb, "sdist": SdistWithWeb})
