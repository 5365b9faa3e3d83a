"""The accountant's side: the FEC and the exports of invoices, payments and refunds."""
