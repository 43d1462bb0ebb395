"""Storage: the ordered key-value engine (RocksDB), its keys and the data directory."""

from .engine import StorageError, StorageTrouble

__all__ = ["StorageError", "StorageTrouble"]
