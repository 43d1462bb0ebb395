"""A tiny application module: it builds its own boto3 clients, as real code does."""

from __future__ import annotations

import boto3


def place_order(order_id: str, total: str) -> None:
    boto3.client("dynamodb").put_item(TableName="orders", Item={"id": {"S": order_id}, "total": {"N": total}})


def order_total(order_id: str) -> str | None:
    item = boto3.client("dynamodb").get_item(TableName="orders", Key={"id": {"S": order_id}}).get("Item")
    return item["total"]["N"] if item else None
