"""MAD Industrie: bringing parts back from Asia to local manufacturers (issue 19)."""
