"""The Cosmos-Reason1-7B path without a GPU or weights: the full-size architecture on the meta device with the
project's LoRA, the preflight's refusals, model selection for runs without a config, the single-process
DeepSpeed launch, the video cache's byte budget and the frozen vision tower's gradients."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from football_assets.cli.train import main as train_cli
from football_assets.core.training import preflight, presets
from football_assets.core.training.presets import ModelSelectionError
from football_assets.core.training.train import CONFIG_DIR
from football_assets.core.training.train_args import resolve
from football_assets.defs.training.assets import LoraAdapterConfig, lora_adapter, resolve_settings
from resources import DataDirResource
from resources.gpu import GpuResource
from tests.fixtures_training import tiny_config

ROOT = Path(__file__).resolve().parents[1]

# Qwen2.5-VL-7B: q 3584->3584, k/v 3584->512 (4 KV heads x 128), o 3584->3584, gate/up 3584->18944, down 18944->3584
LORA_IN_OUT = [(3584, 3584), (3584, 512), (3584, 512), (3584, 3584), (3584, 18944), (3584, 18944), (18944, 3584)]


@pytest.fixture(scope="module")
def plan_7b():
    values, _ = resolve(None, "cosmos-reason1-7b", "a100-80gb")
    return preflight.plan(values, "a100-80gb", 1, presets.PROFILE_MEMORY_GB["a100-80gb"])


def test_full_size_7b_on_meta_device_lora_counts(plan_7b):
    r = 64
    expected = 28 * sum(r * (i + o) for i, o in LORA_IN_OUT)
    assert expected == 161_480_704
    assert plan_7b.params["trainable"] == plan_7b.params["lora"] == expected
    assert plan_7b.params["vision_trainable"] == 0 and plan_7b.params["lm_head_trainable"] == 0
    assert plan_7b.params["vision_frozen"] > 600_000_000  # the 0.7 B ViT is there, and frozen
    assert plan_7b.lora["in_vision_tower"] == []
    assert plan_7b.lora["language_model_layers"] == list(range(28)) and plan_7b.lora["modules"] == 28 * 7
    assert plan_7b.tokens["video"] == 3456 and (plan_7b.tokens["height"], plan_7b.tokens["width"]) == (336, 504)
    assert 20 < plan_7b.total_gb < 80 and not plan_7b.problems
    # logits (bf16 + fp32 upcast + saved log-softmax) at the answer positions only, not at all 3.9 k tokens
    assert plan_7b.memory_gb["logits"] == round(2 * preflight.ANSWER_TOKENS * 152_064 * (2 + 4 + 4) / 1e9, 2)
    assert plan_7b.memory_gb["logits"] < plan_7b.memory_gb["activations"]


def test_preflight_refuses_oversized_budget_and_unservable_adapter():
    values, _ = resolve({"max_frames": 256, "max_pixels": 480 * 720}, "cosmos-reason1-7b", "a100-80gb")
    p = preflight.plan(values, "a100-80gb", 1, 80.0)
    with pytest.raises(preflight.PreflightError, match="over the a100-80gb budget of 80 GB.*256 frames of 476x700"):
        preflight.check(p)
    values, _ = resolve({"modules_to_save": ["lm_head"]}, "cosmos-reason1-7b", "a100-80gb")
    with pytest.raises(preflight.PreflightError, match="meant for vLLM.*lm_head"):
        preflight.check(preflight.plan(values, "a100-80gb", 1, 80.0))


def test_dry_run_command_prints_the_plan(capsys):
    assert train_cli(["--dry-run", "--model", "cosmos-reason1-7b", "--profile", "a100-80gb"]) == 0
    out = capsys.readouterr().out
    assert "trainable 161,480,704" in out and "verdict: fits" in out and "3456 tokens" in out
    assert "learning_rate = 0.0001 <- preset" in out and "per_device_train_batch_size = 2 <- profile" in out
    assert '"max_pixels": 169344' in out and '"fps": 4' in out  # vLLM pinned to the training budget
    assert train_cli(["--dry-run", "--model", "cosmos-reason1-7b", "--profile", "a100-80gb",
                      "--set", "max_frames=256", "--set", "max_pixels=345600"]) == 2
    assert "over the a100-80gb budget of 80 GB" in capsys.readouterr().err


def test_run_without_config_on_a_7b_host_never_trains_tiny(demo_splits, tmp_path):
    weights = tmp_path / "Cosmos-Reason1-7B"
    weights.mkdir()
    values, sources = resolve_settings(LoraAdapterConfig(), GpuResource(profile="a100-80gb", model_path=str(weights)))
    assert values["model"] == "cosmos-reason1-7b" and values["model_path"] == str(weights)
    assert values["learning_rate"] == 1e-4 and values["num_train_epochs"] == 3.0 and values["modules_to_save"] == []
    assert sources["learning_rate"] == "preset" and sources["per_device_train_batch_size"] == "profile"
    # a run config value beats both
    values, sources = resolve_settings(LoraAdapterConfig(learning_rate=5e-5, per_device_train_batch_size=1),
                                       GpuResource(profile="a100-80gb", model_path=str(weights)))
    assert (values["learning_rate"], values["per_device_train_batch_size"]) == (5e-5, 1)
    assert sources["learning_rate"] == sources["per_device_train_batch_size"] == "run config"
    with pytest.raises(ModelSelectionError, match="'tiny' is built locally.*COSMOS_REASON1_PATH"):
        resolve_settings(LoraAdapterConfig(model="tiny"), GpuResource(model_path=str(weights)))
    # the schedule's run (no run config) through Dagster: refused before any training, naming the weights
    (weights / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl", "hidden_size": 128,
                                                     "num_hidden_layers": 2, "vocab_size": 1024}))
    layout, _ = demo_splits
    result = materialize([lora_adapter], resources={"storage": DataDirResource(root=str(layout.root)),
                                                    "gpu": GpuResource(profile="cpu", model_path=str(weights))},
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    errors = " ".join(str(e.event_specific_data.error) for e in result.all_events if e.is_step_failure)
    assert "model 'cosmos-reason1-7b': the weights in" in errors and "text hidden_size 128 (expected 3584)" in errors
    assert not (layout.models_dir / "runs").exists() or not any((layout.models_dir / "runs").rglob("train_config.json"))


def test_cache_respects_its_byte_budget(demo_splits, tmp_path):
    from football_assets.core.training.model import build_tiny_processor, get_spec
    from football_assets.core.training.video_inputs import VideoBudget, VideoCache, item_bytes

    spec = get_spec("tiny")
    processor = build_tiny_processor(spec)
    budget = VideoBudget(spec.max_frames, spec.min_pixels, spec.max_pixels)
    _, splits_dir = demo_splits
    videos = sorted({json.loads(line)["video"] for name in ("train", "val", "test")
                     for line in (splits_dir / f"{name}.jsonl").read_text().splitlines()})[:4]
    one = item_bytes(VideoCache(processor, budget).get(videos[0], 4))
    cache = VideoCache(processor, budget, tmp_path / "cache", max_bytes=int(2.5 * one))
    for v in videos:
        cache.get(v, 4)
        assert cache.mem_bytes <= cache.max_bytes
    assert len(cache.mem) == 2 and cache.decodes == 4
    again = cache.get(videos[0], 4)  # spilled: read back from the disk cache, not decoded again
    assert cache.decodes == 4 and cache.disk_reads == 1 and again["video_grid_thw"].tolist() == [[16, 6, 8]]


def test_no_vision_gradient_under_gradient_checkpointing(demo_splits, tmp_path):
    import torch

    from football_assets.core.training.train import (
        Collator,
        SFTDataset,
        TrainConfig,
        keep_vision_out_of_autograd,
        load_samples,
        prepare_model,
    )
    from football_assets.core.training.video_inputs import VideoCache

    _, splits_dir = demo_splits
    cfg = TrainConfig.from_dict(tiny_config(splits_dir, tmp_path, gradient_checkpointing=True, modules_to_save=[]))
    model, processor, _ = prepare_model(cfg)
    samples = load_samples(cfg)[:2]
    batch = Collator(processor.tokenizer.pad_token_id)(
        [SFTDataset(samples, processor, VideoCache(processor, cfg.budget()))[i] for i in range(2)])

    saved = {}  # bytes autograd keeps for backward during the step's forward

    def vision_output_requires_grad(m) -> bool:
        seen, total = [], [0]

        def pack(t):
            total[0] += t.numel() * t.element_size()
            return t

        handle = m.base_model.model.model.visual.register_forward_hook(
            lambda mod, inp, out: seen.append(out.last_hidden_state.requires_grad))
        m.train()
        m.base_model.model.gradient_checkpointing_enable({"use_reentrant": False})  # what the Trainer calls
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = m(**batch).loss
        loss.backward()
        handle.remove()
        saved[len(saved)] = total[0]
        return seen[0]

    assert vision_output_requires_grad(model) is False
    vision_grads = [n for n, p in model.named_parameters() if ".visual." in n and p.grad is not None]
    lora_grads = [n for n, p in model.named_parameters() if "lora_" in n and p.grad is not None]
    moving = [n for n, p in model.named_parameters() if "lora_B" in n and p.grad is not None and p.grad.abs().sum() > 0]
    assert vision_grads == [] and len(lora_grads) == 2 * 7 * 2  # 2 layers x 7 projections x (A, B)
    assert len(moving) == 2 * 7  # B starts at zero, so only B moves on the first step
    # without the fix transformers hooks patch_embed and the frozen ViT enters the backward graph
    plain, _, _ = prepare_model(cfg)
    del plain.base_model.model.model.visual.get_input_embeddings
    assert vision_output_requires_grad(plain) is True
    assert saved[0] < saved[1], saved  # the step keeps less for backward without the ViT in the graph
    print(f"saved for backward: {saved[0]} bytes with the frozen ViT out of autograd, {saved[1]} with it in")
    keep_vision_out_of_autograd(plain.base_model.model)
    assert "get_input_embeddings" in vars(plain.base_model.model.model.visual)


def test_single_process_zero2_run_trains_on_cpu(demo_splits, tmp_path):
    """No launcher, a DeepSpeed config: the trainer sets up the one-process group itself (no mpi4py)."""
    _, splits_dir = demo_splits
    out = tmp_path / "run"
    cfg = tiny_config(splits_dir, out, max_steps=2, batch_size=1, save_steps=100, deepspeed=str(CONFIG_DIR / "ds_zero2.json"))
    path = tmp_path / "ds1.json"
    path.write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "football_assets.core.training.train", "--config", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "mpi4py" not in done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 1 and metrics["steps"] == 2 and metrics["deepspeed"].endswith("ds_zero2.json")
    assert (out / "adapter" / "adapter_model.safetensors").exists()


def test_tiny_defaults_are_the_demo_settings(demo_splits, tmp_path):
    """`make demo` trains with no run config on the cpu profile: these are the values its figures were measured with."""
    from football_assets.core.dataset import store
    from football_assets.defs.training.assets import build_train_config

    layout, _ = demo_splits
    cfg, _ = build_train_config(LoraAdapterConfig(), GpuResource(profile="cpu"), layout, store.load_latest(layout))
    want = {"model": "tiny", "learning_rate": 2e-3, "num_train_epochs": 10.0, "lora_r": 64, "lora_alpha": 128,
            "lora_dropout": 0.0, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1,
            "demo_pretrain_steps": 300, "save_steps": 1000, "lr_scheduler_type": "cosine", "warmup_steps": 0.05,
            "seed": 0, "modules_to_save": ["merger", "embed_tokens", "lm_head"], "max_frames": 32, "bf16": True,
            "gradient_checkpointing": False, "deepspeed": None, "dtype": "float32", "model_path": None}
    assert {k: cfg.to_dict()[k] for k in want} == want
    # bf16 is autocast over fp32 weights, on this CPU only where it has bf16 kernels
    from football_assets.core.training.train_args import bf16_native

    assert cfg.parse(on_gpu=False)[-1].bf16 is bf16_native(False)
    training = cfg.parse(on_gpu=False)[-1]
    assert training.learning_rate == 2e-3 and training.num_train_epochs == 10.0 and training.warmup_steps == 0.05
    assert training.output_dir.endswith("checkpoints") and training.report_to in ([], "none", ["none"])


def test_each_model_version_trains_in_its_own_run_folder(demo_splits):
    """A retrain with another seed on the same splits must not resume the other seed's finished checkpoints
    (it did when the run folder was named by the splits version: seed 1 came out as seed 0's model)."""
    from football_assets.core.dataset import store
    from football_assets.core.spotter.train import model_version as spotter_version
    from football_assets.core.training.train import model_version
    from football_assets.defs.training.assets import build_train_config
    from football_assets.defs.training.spotter import EventSpotterConfig, build_spotter_config

    layout, _ = demo_splits
    splits, gpu = store.load_latest(layout), GpuResource(profile="cpu")
    seed0, seed1 = (build_train_config(LoraAdapterConfig(seed=s), gpu, layout, splits)[0] for s in (0, 1))
    assert seed0.output_dir != seed1.output_dir
    assert Path(seed0.output_dir).name == model_version(seed0) and Path(seed1.output_dir).name == model_version(seed1)
    assert build_train_config(LoraAdapterConfig(seed=0), gpu, layout, splits)[0].output_dir == seed0.output_dir  # resumable
    sp0, sp1 = (build_spotter_config(EventSpotterConfig(seed=s), gpu, layout, splits) for s in (0, 1))
    assert sp0.output_dir != sp1.output_dir and Path(sp0.output_dir).name == spotter_version(sp0)


def test_a_setting_every_preset_sets_has_no_project_default():
    """One default per field: what every model's preset sets (learning rate, epochs, warm-up) has no second,
    never-used default in ``TRAINER_DEFAULTS``."""
    from football_assets.core.training.train_args import TRAINER_DEFAULTS

    everywhere = set.intersection(*(set(p) for p in presets.MODEL_PRESETS.values()))
    assert {"learning_rate", "num_train_epochs", "warmup_steps"} <= everywhere
    assert everywhere & set(TRAINER_DEFAULTS) == set()


def test_a_new_tiny_architecture_is_a_new_model_version(tmp_path, monkeypatch):
    """The tiny base is built from the code's spec, which no training setting names: a wider vision tower must not
    resume or reuse the run of the old one (it did: the same settings gave the same version)."""
    import dataclasses

    from football_assets.core.training import model
    from football_assets.core.training.train import TrainConfig, model_version
    from tests.fixtures_training import tiny_config

    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "train.jsonl").write_text("")  # the config only checks that it is there
    cfg = TrainConfig.from_dict(tiny_config(tmp_path / "splits", tmp_path / "out"))
    before = model_version(cfg)
    assert model_version(cfg) == before  # stable for the same code and settings
    tiny = model.MODELS["tiny"]
    wider = {**tiny.tiny, "vision": {**tiny.tiny["vision"], "hidden_size": 2 * tiny.tiny["vision"]["hidden_size"]}}
    monkeypatch.setitem(model.MODELS, "tiny", dataclasses.replace(tiny, tiny=wider))
    assert model_version(cfg) != before
