"""Base models, training settings, the LoRA trainer and its memory preflight."""
