"""Keys, algorithms, signers and trust stores. The only package that touches raw crypto."""
