"""sources stage of metareview."""
