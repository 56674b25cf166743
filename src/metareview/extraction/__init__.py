"""extraction stage of metareview."""
