"""Card revocation: a root-signed, compact, delta-friendly list of revoked document numbers.

The format and the status rules are described in :mod:`cardlib.revocation._revocation`.
"""
