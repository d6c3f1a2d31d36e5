"""Byte-level layers of the Claim 169 pipeline: Base45, zlib, CBOR and COSE_Sign1.

Each layer is a small pure function from bytes to bytes (or to a value). These modules are the
library's sharp edges; the public surface is in :mod:`cardlib`.
"""
