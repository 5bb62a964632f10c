"""Interfaces for other programs: the JSON API v1 (with its OpenAPI document) and Open311
GeoReport v2."""
from .open311 import bp as open311
from .v1 import bp as api_v1

__all__ = ["api_v1", "open311"]
