"""Data preparation for SelfGNN: synthetic data sets in the original file format."""
