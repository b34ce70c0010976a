"""The shared training engine: data preparation, the training loop, checkpoints, evaluation."""
