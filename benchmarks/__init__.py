"""cardlib's benchmark suite (a package, so its modules share helpers without name clashes)."""
