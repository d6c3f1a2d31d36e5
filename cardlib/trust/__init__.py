"""Trust distribution (issue 4): X.509 certificates for the root and the issuing centres, and the
root-signed trust list that tells verifiers which centre keys to accept.

``_certs``: the root CA certificate, centre signing certificates, certificate kids and the strict
check of a centre certificate against the pinned root. ``_trustlist``: publishing and loading the
trust list (a COSE_Sign1 over deterministic CBOR).
"""
