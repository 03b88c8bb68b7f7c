"""Readers of the toolkit's earlier file formats, kept and tested so old files still load."""
