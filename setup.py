"""Build step: ship the console's charting library in the wheel without committing it.

``npm ci`` in ``console/`` fetches uPlot (pinned by console/package-lock.json); when it is there,
the wheel gets a copy under ``tidestream/console/static/vendor/`` with its license. Without it
the wheel is built all the same and the console runs without its chart (docs/decisions/0003).
Everything else about the package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

UPLOT = Path(__file__).parent / "console" / "node_modules" / "uplot"
VENDOR_FILES = ("uPlot.iife.min.js", "uPlot.min.css")


class BuildPyWithConsoleAssets(build_py):
    def run(self) -> None:
        super().run()
        if not all((UPLOT / "dist" / name).is_file() for name in VENDOR_FILES):
            print("console: uPlot not installed (npm ci in console/): the wheel's console has no chart")
            return
        target = Path(self.build_lib) / "tidestream" / "console" / "static" / "vendor"
        target.mkdir(parents=True, exist_ok=True)
        for name in VENDOR_FILES:
            shutil.copy2(UPLOT / "dist" / name, target / name)
        shutil.copy2(UPLOT / "LICENSE", target / "uPlot.LICENSE")


setup(cmdclass={"build_py": BuildPyWithConsoleAssets})
