"""effects stage of metareview."""
