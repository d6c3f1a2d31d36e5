"""The offline bundle: one file with the trust list and the revocation list, for verifiers.

:func:`export_bundle` puts a signed trust list and a signed revocation list into one file;
:func:`load_bundle` checks both against the pinned root and returns a :class:`Bundle`;
:func:`read_bundle` only splits a file into its two (unchecked) signed parts.
"""

from __future__ import annotations

from ._bundle import MAX_BUNDLE_BYTES, Bundle, export_bundle, load_bundle, read_bundle

__all__ = [
    "MAX_BUNDLE_BYTES",
    "Bundle",
    "export_bundle",
    "load_bundle",
    "read_bundle",
]
