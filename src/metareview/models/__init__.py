"""models stage of metareview."""
