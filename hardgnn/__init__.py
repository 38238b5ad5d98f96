"""HardGNN: SelfGNN plus an InfoNCE term over cosine top-K hard negatives mined per anchor."""
