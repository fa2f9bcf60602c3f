"""Evaluation and benchmarks of the assistant (the data sets live in the top-level evals/ folder)."""
