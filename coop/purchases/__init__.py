"""Purchases: suppliers' invoices received, matched, booked and paid."""
