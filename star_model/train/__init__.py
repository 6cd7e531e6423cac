"""Training: the one loop, resumable state, tower pretraining, fine-tuning, and every recipe."""
