"""Suppliers, parts, offers, price lists and quotes (issue: catalogue)."""
