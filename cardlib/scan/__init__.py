"""Reading a card back from a photo or scan: find the barcodes, verify, cross-check the print."""
