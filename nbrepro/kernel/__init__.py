"""Glue inside the IPython kernel: the magics, the in-kernel capture, the card and the summary display."""
