"""The tamper-evident audit log: append (chain), sign (checkpoints), check (verify)."""
from .chain import GENESIS, canonical, chain_hash, head, record
from .checkpoints import checkpoint, public_key_hex, signing_key
from .verify import Problem, VerifyResult, verify_chain

__all__ = [
    "GENESIS", "Problem", "VerifyResult", "canonical", "chain_hash", "checkpoint", "head",
    "public_key_hex", "record", "signing_key", "verify_chain",
]
