"""Payments: Stripe Checkout and webhooks, bank transfers, the ledger, reminders."""
