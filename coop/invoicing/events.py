"""What invoicing tells the layers above it, without importing them.

Issuing an invoice or a credit note changes what a shop owes; payments (a layer
above) keeps the shop's account consistent by listening here, in the same
transaction, before the caller commits. Invoicing never imports payments.
"""

from blinker import Namespace

_signals = Namespace()

# Sent after an invoice or a credit note is flushed; sender: that Invoice row.
document_issued = _signals.signal("invoicing.document-issued")
