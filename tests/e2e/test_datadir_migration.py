"""A data dir written by format 1 (tests/fixtures/datadir-format1.tar.gz, made by the release before
format 2) is migrated when opened: its backups keep their items, Lambda keeps its functions."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.conftest import start_server

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datadir-format1.tar.gz"


def _format(data: Path) -> int:
    return json.loads((data / "FORMAT").read_text())["format"]


def _keys(ddb, table: str) -> list[str]:
    return sorted(item["pk"]["S"] for item in ddb.scan(TableName=table)["Items"])


def test_format1_data_dir_is_migrated_and_keeps_backups_and_functions(tmp_path):
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    data = tmp_path / "data"
    assert _format(data) == 1
    for restart in range(2):  # the second start finds format 2 and has nothing to move
        s = start_server(tmp_path)
        try:
            ddb = s.client()
            [backup] = ddb.list_backups(TableName="tbl")["BackupSummaries"]
            assert backup["BackupName"] == "bak"
            ddb.restore_table_from_backup(TargetTableName=f"restored{restart}", BackupArn=backup["BackupArn"])
            assert _keys(ddb, f"restored{restart}") == ["a", "b"]
            assert _keys(ddb, "tbl") == ["a", "b", "c"]
            assert (
                s.client("lambda").get_function(FunctionName="fn")["Configuration"]["Handler"]
                == "app.handler"
            )
        finally:
            assert s.stop() == 0, s.read_log()
        assert _format(data) == 2
    log = s.read_log()
    assert log.count("migrated from format 1 to 2 (2 backup items moved") == 1, log
