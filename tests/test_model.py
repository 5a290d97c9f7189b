"""The tiny Qwen2.5-VL, its processor, the video inputs' true timing, LoRA targets and the GPU resource."""

import json

import pytest
import torch

from football_assets.core import prompts
from football_assets.core.training.data import Collator, SFTDataset
from football_assets.core.training.launch import launch_command, launch_env
from football_assets.core.training.model import MODELS, UnknownModelError, get_spec, load_base, lora_config, quiet_peft
from football_assets.core.training.presets import PROFILES, profile_values
from football_assets.core.training.video_inputs import VideoBudget, VideoCache, sample_indices
from resources.gpu import GpuResource


@pytest.fixture(scope="module")
def tiny():
    return load_base("tiny")


def test_tiny_is_qwen25vl_with_local_processor(tiny):
    model, processor = tiny
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    assert model.get_input_embeddings().weight.shape == model.lm_head.weight.shape == (152_064, 128)
    assert sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n and "lm_head" not in n) < 2_000_000
    tok = processor.tokenizer
    for special in ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|video_pad|>", "<|image_pad|>"):
        assert tok.convert_tokens_to_ids(special) != tok.unk_token_id and len(tok.tokenize(special)) == 1
    answer = prompts.format_events([{"event": "Red card", "start_time": 3.25, "end_time": 5.0, "description": "Number 17 is sent off."}])
    assert tok.decode(tok(answer)["input_ids"]) == answer
    assert model.config.video_token_id == processor.video_token_id
    # deterministic: the same weights every time it is built
    again, _ = load_base("tiny")
    assert torch.equal(again.lm_head.weight, model.lm_head.weight)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(UnknownModelError, match="unknown model 'llava'; known models: tiny, cosmos-reason1-7b"):
        get_spec("llava")
    with pytest.raises(FileNotFoundError, match="cosmos-reason1-7b.*does-not-exist"):
        load_base("cosmos-reason1-7b", path="/does-not-exist")


def test_lora_hits_only_language_model_linear_layers(tiny):
    from peft import get_peft_model

    model, _ = load_base("tiny")
    with quiet_peft():
        peft_model = get_peft_model(model, lora_config(modules_to_save=()))
    lora = [n for n, m in peft_model.named_modules() if hasattr(m, "lora_A") and n.endswith(("_proj"))]
    assert len(lora) == 2 * 7  # 2 layers x q,k,v,o,gate,up,down
    assert all(".language_model.layers." in n for n in lora)
    # the vision tower has MLP layers with the same short names: untouched and frozen
    assert any(n.endswith("visual.blocks.0.mlp.gate_proj") for n, _ in peft_model.named_modules())
    assert not any(p.requires_grad for n, p in peft_model.named_parameters() if ".visual." in n)


def test_peft_wrapping_warns_nothing_whatever_the_warning_filters(tiny):
    """peft reads transformers' deprecated ``is_gradient_checkpointing``; a filter around the call can be undone by
    another thread's ``catch_warnings`` (the run console polls Dagster meanwhile), so the quiet must not rest on
    filters: with every filter cleared and 'always' set inside ``quiet_peft``, the alias still warns nothing."""
    import warnings

    from peft import get_peft_model

    model, _ = load_base("tiny")
    with warnings.catch_warnings(record=True) as seen:
        with quiet_peft():
            warnings.resetwarnings()  # what another thread's catch_warnings exit can do meanwhile
            warnings.simplefilter("always")
            get_peft_model(model, lora_config(modules_to_save=()))
            assert model.is_gradient_checkpointing is model.is_activation_checkpointing is False
    assert not [w for w in seen if "gradient_checkpointing" in str(w.message)], [str(w.message) for w in seen]


def test_video_inputs_carry_true_fps_and_labels_cover_only_the_answer(tiny, demo_splits):
    _, processor = tiny
    layout, splits_dir = demo_splits
    sample = json.loads((splits_dir / "train.jsonl").read_text().splitlines()[0])
    spec = get_spec("tiny")
    cache = VideoCache(processor, VideoBudget(spec.max_frames, spec.min_pixels, spec.max_pixels))
    item = cache.get(sample["video"], 4)
    assert item["fps"] == 4.0 and item["frames_indices"] == list(range(32))
    assert item["second_per_grid_ts"] == [0.5]  # 2 frames per temporal patch at 4 fps (not 24 fps)
    assert item["video_grid_thw"].tolist() == [[16, 6, 8]]
    cache.get(sample["video"], 4)
    assert cache.decodes == 1
    ds = SFTDataset([sample], processor, cache)
    row = ds[0]
    answer = sample["messages"][-1]["content"]
    labelled = row["labels"][row["labels"] != -100]
    assert processor.tokenizer.decode(labelled) == answer + "<|im_end|>\n"
    assert int((row["mm_token_type_ids"] == 2).sum()) == 16 * 6 * 8 // 4
    batch = Collator(processor.tokenizer.pad_token_id)([row, row])
    assert batch["input_ids"].shape[0] == 2 and batch["second_per_grid_ts"].tolist() == [0.5, 0.5]


def test_sample_indices_meet_frame_budget():
    assert sample_indices(32, 32, 2) == list(range(32))
    idx = sample_indices(120, 32, 2)
    assert len(idx) == 32 and idx[0] == 0 and idx[-1] == 119
    odd = sample_indices(7, 32, 2)  # a multiple of the temporal patch, first and last frame kept
    assert len(odd) == 6 and odd[0] == 0 and odd[-1] == 6


def test_gpu_resource_profiles_and_launchers(tmp_path):
    a100 = GpuResource(profile="a100-80gb", launcher="deepspeed", gpus=4, model_path=str(tmp_path))
    over = {**profile_values(a100.profile), "model_path": a100.model_path}  # the asset adds the deployment's path
    assert over["bf16"] and over["gradient_checkpointing"] and over["deepspeed"].endswith("ds_zero2.json")
    assert over["model_path"] == str(tmp_path)
    ds = json.loads(open(over["deepspeed"]).read())
    assert ds["zero_optimization"]["stage"] == 2
    cmd = launch_command(a100.launcher, a100.gpus, "c.json")
    assert cmd[0].endswith("deepspeed") and "--num_gpus=4" in cmd and cmd[-2:] == ["--config", "c.json"]
    tr = launch_command("torchrun", 2, "c.json")
    assert tr[0].endswith("torchrun") and "--nproc_per_node=2" in tr and "football_assets.core.training.train" in tr
    assert launch_command(GpuResource().launcher, GpuResource().gpus, "c.json")[1:3] == ["-m", "football_assets.core.training.train"]
    assert set(PROFILES) == {"a100-80gb", "cpu"}
    # a trainer on the cpu profile: DeepSpeed told its accelerator, malloc keeping freed memory; on a GPU profile nothing
    assert launch_env("cpu") == {"DS_ACCELERATOR": "cpu", "MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(64 * 2**30)}
    assert launch_env("a100-80gb") == {}
    with pytest.raises(ValueError, match="unknown GPU profile 'h100'"):
        profile_values(GpuResource(profile="h100").profile)
    with pytest.raises(ValueError, match="unknown launcher 'mpirun'"):
        launch_command("mpirun", 1, "c.json")
    assert MODELS["cosmos-reason1-7b"].hub_id == "nvidia/Cosmos-Reason1-7B"


def test_answer_only_logits_give_the_full_loss_and_gradients(tiny, demo_splits):
    """Batch of 3 right-padded samples with answers of different lengths: the LM head at the answer positions
    gives the model's own full-sequence loss (and the same gradients), with and without the Trainer's count."""
    from football_assets.core.training.loss import answer_loss, answer_positions

    model, processor = tiny
    _, splits_dir = demo_splits
    samples = [json.loads(line) for line in (splits_dir / "train.jsonl").read_text().splitlines()][:3]
    spec = get_spec("tiny")
    ds = SFTDataset(samples, processor, VideoCache(processor, VideoBudget(spec.max_frames, spec.min_pixels, spec.max_pixels)))
    rows = [ds[i] for i in range(len(samples))]
    assert len({len(r["input_ids"]) for r in rows}) > 1  # really padded
    batch = Collator(processor.tokenizer.pad_token_id)(rows)
    torch.manual_seed(1)
    with torch.no_grad():  # a trained-looking head: the random one gives near-uniform logits
        model.lm_head.weight.normal_(0, 0.5)
    labels = batch.pop("labels")
    keep = answer_positions(labels)
    n = int((labels != -100).sum())
    assert int(keep.sum()) == n and n < labels.numel() // 4

    model.zero_grad()
    full = model(**batch, labels=labels).loss
    full.backward()
    full_grad = model.lm_head.weight.grad.clone()
    model.zero_grad()
    out = model(**batch, logits_to_keep=keep)
    assert out.logits.shape == (n, model.config.text_config.vocab_size)
    part = answer_loss(out, labels)
    part.backward()
    assert abs(part.item() - full.item()) < 1e-5
    assert torch.allclose(model.lm_head.weight.grad, full_grad, atol=1e-6)
    summed = model(**batch, labels=labels, num_items_in_batch=torch.tensor(2 * n)).loss
    assert abs(answer_loss(out, labels, num_items_in_batch=torch.tensor(2 * n)).item() - summed.item()) < 1e-5
    with pytest.raises(ValueError, match="logits of the .* answer positions only"):
        answer_loss(model(**batch, logits_to_keep=1), labels)
