"""The registry: one entry per family and the parameters and references it draws on."""
