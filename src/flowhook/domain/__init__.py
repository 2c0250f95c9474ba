"""Plain data shared by the layers: accounts and the like (no I/O here)."""
