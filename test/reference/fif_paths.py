"""Paths shared by the fif_*.py golden scripts (run from anywhere; not run by tests or CI)."""
import os.path as op

ROOT = op.dirname(op.dirname(op.dirname(op.abspath(__file__))))
SHARED = op.join(op.dirname(ROOT), "shared", "data")
OUT = op.join(ROOT, "test", "golden", "fif")
