"""The offline bundle: one file with the trust list and the revocation list, for verifiers."""
