"""Server settings, from the command line (see :mod:`tidestream.cli`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: str = "./tidestream-data"
    in_memory: bool = False
    region: str = "us-east-1"
    account_id: str = "000000000000"
    durability: str = "strict"
    reset_endpoint: bool = True
    status_delay: float = 0.0
    ttl_interval: float = 1.0
    kinesis_limits: bool = True
    log_level: str = "INFO"
