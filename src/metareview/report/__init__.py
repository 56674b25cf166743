"""report stage of metareview."""
