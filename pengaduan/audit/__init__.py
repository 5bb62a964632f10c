"""The tamper-evident audit log: append (chain), sign (checkpoints), check (verify)."""
from .chain import GENESIS, canonical, chain_hash, head, record
from .checkpoints import checkpoint, public_key_hex, published_head, signing_key
from .checkpoints import interval as checkpoint_interval
from .commit import install
from .verify import Problem, VerifyResult, check_heads, heads_in_pack, parse_head, verify_chain

__all__ = [
    "GENESIS", "Problem", "VerifyResult", "canonical", "chain_hash", "check_heads", "checkpoint",
    "checkpoint_interval", "head", "heads_in_pack", "install", "parse_head", "public_key_hex",
    "published_head", "record", "signing_key", "verify_chain",
]
