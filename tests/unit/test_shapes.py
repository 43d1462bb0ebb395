"""The committed typed shapes (tidestream/protocol/shapes/) match what the installed botocore generates."""

from __future__ import annotations

import importlib
import os

import pytest

from tidestream.protocol import SERVICES
from tidestream.protocol.gen_shapes import generate, main, module_path
from tidestream.protocol.models import model_path


@pytest.mark.parametrize("service", SERVICES)
def test_committed_shapes_match_the_installed_botocore(service: str) -> None:
    import botocore

    path = module_path(service)
    with open(path, encoding="utf-8") as fh:
        committed = fh.read()
    assert generate(service) == committed, (
        f"{os.path.relpath(path)} differs from what botocore {botocore.__version__} "
        f"({model_path(service)}) generates: run `python -m tidestream.protocol.gen_shapes`, "
        "review the diff (new members, enums, required members) and commit it"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_its_typed_input(service: str) -> None:
    from tidestream.protocol import load_model

    module = importlib.import_module(
        "tidestream.protocol.shapes." + os.path.basename(module_path(service))[:-3]
    )
    for name, op in load_model(service)["operations"].items():
        shape = op["input"]["shape"]
        assert isinstance(getattr(module, shape, None), type), f"{service} {name}: no TypedDict {shape}"


def test_required_members_are_marked_required() -> None:
    """total=False with Required[...] exactly for the model's required members (PutItem as the sample)."""
    with open(module_path("dynamodb"), encoding="utf-8") as fh:
        source = fh.read()
    body = source.split("class PutItemInput(TypedDict, total=False):\n", 1)[1].split("\n\n", 1)[0]
    members = dict(line.strip().split(": ", 1) for line in body.splitlines())
    assert members["TableName"] == "Required[str]"
    assert members["Item"] == "Required[dict[str, AttributeValue]]"
    assert members["ConditionExpression"] == "str"
    assert members["ReturnValues"].startswith('Literal["NONE", "ALL_OLD"')


def test_check_mode_reports_drift_and_writes_nothing(tmp_path, monkeypatch, capsys) -> None:
    import tidestream.protocol.gen_shapes as gen

    monkeypatch.setattr(gen, "SHAPES_DIR", str(tmp_path))
    (tmp_path / "sts.py").write_text("stale\n")
    assert main(["--check"]) == 1
    assert (tmp_path / "sts.py").read_text() == "stale\n"
    assert "out of date" in capsys.readouterr().out
    assert main([]) == 0
    assert main(["--check"]) == 0
    assert (tmp_path / "sts.py").read_text() == generate("sts")
