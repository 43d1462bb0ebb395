"""Where tidestream finds AWS's Node.js runtime client (aws-lambda-ric), on real directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidestream.lambda_.sandboxes import NODE_RIC_ENV, find_node_ric


def fake_ric(directory: Path, script: str = "index.mjs", name: str = "aws-lambda-ric") -> Path:
    """A package directory shaped like aws-lambda-ric (4.x: ./index.mjs; 3.x: bin/index.mjs)."""
    directory.mkdir(parents=True)
    (directory / "package.json").write_text(json.dumps({"name": name, "bin": {"aws-lambda-ric": script}}))
    (directory / script).parent.mkdir(parents=True, exist_ok=True)
    (directory / script).write_text("// the runtime client")
    return (directory / script).resolve()


@pytest.fixture
def root(tmp_path, monkeypatch) -> str:
    """``<tmp>/data/lambda``, run from a directory with no node_modules and no variable set."""
    monkeypatch.delenv(NODE_RIC_ENV, raising=False)
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path / "data")
    return str(tmp_path / "data" / "lambda")


def test_variable_names_the_package_or_a_directory_holding_node_modules(tmp_path, root, monkeypatch):
    entry = fake_ric(tmp_path / "ric", "bin/index.mjs")
    monkeypatch.setenv(NODE_RIC_ENV, str(tmp_path / "ric"))
    assert find_node_ric(root) == str(entry)
    nested = fake_ric(tmp_path / "tools" / "node_modules" / "aws-lambda-ric")
    monkeypatch.setenv(NODE_RIC_ENV, str(tmp_path / "tools"))
    assert find_node_ric(root) == str(nested)


def test_node_modules_in_or_next_to_the_data_dir(tmp_path, root):
    beside = fake_ric(tmp_path / "node_modules" / "aws-lambda-ric")
    assert find_node_ric(root) == str(beside)
    inside = fake_ric(tmp_path / "data" / "node_modules" / "aws-lambda-ric")
    assert find_node_ric(root) == str(inside)  # the data dir's own comes first


def test_other_packages_and_missing_scripts_are_not_taken(tmp_path, root, monkeypatch):
    fake_ric(tmp_path / "node_modules" / "aws-lambda-ric", name="something-else")
    broken = tmp_path / "data" / "node_modules" / "aws-lambda-ric"
    fake_ric(broken)
    (broken / "index.mjs").unlink()
    monkeypatch.setenv("NPM_CONFIG_PREFIX", str(tmp_path / "prefix"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no node: no prefix derived from it
    if (
        Path("/usr/lib/node_modules/aws-lambda-ric").exists()
        or Path("/usr/local/lib/node_modules/aws-lambda-ric").exists()
    ):
        pytest.fail("aws-lambda-ric is installed globally on this machine: this test needs it absent")
    assert find_node_ric(root) is None
    global_entry = fake_ric(tmp_path / "prefix" / "lib" / "node_modules" / "aws-lambda-ric")
    assert find_node_ric(root) == str(global_entry)  # $NPM_CONFIG_PREFIX's global install
