"""Readers and writers: files in, datasets out (no styles, no widgets)."""
