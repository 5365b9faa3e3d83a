"""Requests for quotation, the suppliers' quotes through a private link, awards, the thread."""
