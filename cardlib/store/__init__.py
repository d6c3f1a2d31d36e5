"""The issuance registry: every issued card, behind one interface (SQLite or PostgreSQL).

``open_registry("sqlite:///path/registry.db")`` (or a :class:`~pathlib.Path`) opens the embedded
default; ``open_registry("postgresql://...")`` a shared PostgreSQL database for several nodes.
Both apply the schema migrations at open. The public names live in :mod:`cardlib.store._registry`.
"""
