"""Evidence packs for auditors: export (pack.py) and offline verification (verify_pack.py,
which runs without this package, the database or the server)."""
from .pack import export_pack
from .verify_pack import verify

__all__ = ["export_pack", "verify"]
