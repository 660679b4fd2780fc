"""Emit: render `generated/` from a plan (canonical copies, shims, the runtime)."""
