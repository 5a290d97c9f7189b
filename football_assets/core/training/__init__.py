"""Base models, training settings, the LoRA trainer and its memory preflight."""

import warnings

# peft 0.21 reads transformers 5's deprecated `is_gradient_checkpointing` property whenever it wraps a model
# (get_peft_model, PeftModel.from_pretrained): nothing of ours to change, so the FutureWarning is not shown.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
