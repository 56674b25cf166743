"""store stage of metareview."""
