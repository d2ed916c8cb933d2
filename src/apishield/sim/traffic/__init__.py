"""Who sends what when: benign actors, attacks, and the clock that merges them."""
