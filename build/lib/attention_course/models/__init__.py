"""Models that more than one chapter trains."""
