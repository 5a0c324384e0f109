"""distsuite: batched correctness and performance checks for torch.distributions."""

__version__ = "0.1.0"
