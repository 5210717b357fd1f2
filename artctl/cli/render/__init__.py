"""cli/render layer."""
