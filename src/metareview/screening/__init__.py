"""screening stage of metareview."""
