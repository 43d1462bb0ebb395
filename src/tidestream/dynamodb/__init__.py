"""DynamoDB service logic.

Internal item model (shared by every module in this package):
an item is ``dict[str, AttributeValue]`` and an AttributeValue is a one-key dict shaped like the
wire format, except that binaries are ``bytes`` (base64 is decoded at the edge) and numbers are
canonical strings (see :mod:`.numbers`):
``{"S": str}``, ``{"N": "12.5"}``, ``{"B": b"..."}``, ``{"SS": [str, ...]}``,
``{"NS": ["1", ...]}``, ``{"BS": [b"...", ...]}``, ``{"M": {name: AttributeValue}}``,
``{"L": [AttributeValue, ...]}``, ``{"NULL": True}``, ``{"BOOL": bool}``.
Sets are never empty and hold no duplicates.
"""
