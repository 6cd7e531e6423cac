"""Qt-side application state: the objects views connect to (no widgets here)."""
