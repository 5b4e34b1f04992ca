"""Media in and out: audio files, video encoding, and writing outputs atomically."""
