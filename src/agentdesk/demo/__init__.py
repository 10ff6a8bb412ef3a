"""The embedded demo: a synthetic population in local stores read through the real backend code paths."""
