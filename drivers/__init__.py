"""Hardware edges: PC/SC readers (pyscard) and ESC/POS printers (python-escpos, pyserial)."""
