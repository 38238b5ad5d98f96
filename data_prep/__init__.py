"""Data preparation for SelfGNN: the original notebooks as a tool (`python -m data_prep`),
real MovieLens data from pinned wheels, and synthetic data sets in the original format."""
