"""The national-number profile: the holder record, its rules, and its Claim 169 mapping."""
