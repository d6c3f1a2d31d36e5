"""The audit log: an append-only, hash-chained record of issuance, revocation and key events,
sealed by checkpoints that the registry key signs, with a holder's view of their own events.

The implementation and its public names live in :mod:`cardlib.audit._log`.
"""
