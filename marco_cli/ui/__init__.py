"""Everything drawn for humans: consoles, streamed thoughts, the live search tree, progress."""
