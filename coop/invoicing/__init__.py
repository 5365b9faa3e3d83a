"""Invoices, credit notes, PDFs, Factur-X, payments and accounting exports."""
