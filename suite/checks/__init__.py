"""Checks: pure functions that compare torch.distributions against a float64 reference."""
