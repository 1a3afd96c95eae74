"""Delta tables: uri normalisation, the watcher that records and pins reads, nbrepro's own table queries."""
