"""Print-ready ID-1 cards: front and back at 300 dpi, single-card and A4-sheet PDFs."""
