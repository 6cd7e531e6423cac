"""The few-shot and long-video benchmark (``star-app eval``): methods and their evaluation."""
