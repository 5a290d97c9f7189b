"""Plain-Python core: no Dagster imports here, so trainers run under torchrun/deepspeed or in a pod."""
