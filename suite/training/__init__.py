"""Training a distribution's parameters: ConstraintModule and the strategies compared."""
