"""MAD Industrie: bringing parts back from Asia."""
