"""The spotter network: a 2D CNN per frame, a temporal model over the frame features, two per-frame heads.

As E2E-Spot: per-frame features from a 2D CNN, then a bidirectional GRU (or light dilated temporal
convolutions), then for every frame

* ``spot``: a softmax over the classes plus background (the last column) — "an event is centred here";
* ``member``: one sigmoid per class — "this frame lies inside an event of the class" (start/end).

The backbone is a config choice on one code path: ``efficientnet_lite0`` (the default: ImageNet weights from
an installed package, see ``backbone.py``; frozen, so training runs on per-frame features computed once),
``small_cnn`` (a few strided convs trained from scratch: the fast unit-test network) or ``regnety_800mf``
(torchvision's RegNetY-800MF for real footage on a GPU, with ImageNet weights loaded from a local file when
given). Nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from football_assets.core.events import EVENT_CLASSES
from football_assets.core.spotter import backbone as lite

BACKBONES = ("efficientnet_lite0", "small_cnn", "regnety_800mf")
TEMPORAL = ("gru", "tcn")
MEAN = (0.485, 0.456, 0.406)  # ImageNet per-channel (torchvision weights); Lite0 has its own (backbone.py)
STD = (0.229, 0.224, 0.225)


class SpotterConfigError(ValueError):
    """A spotter setting that cannot work; the message names the field and the cause."""


@dataclass
class NetConfig:
    """What is needed to rebuild the network (saved as ``spotter_config.json`` beside the weights)."""

    backbone: str = "efficientnet_lite0"
    backbone_weights: str | None = None  # local state dict (RegNetY-800MF; Lite0 defaults to the packaged one)
    freeze_backbone: bool = True  # pretrained backbones only: train the temporal model on fixed features
    feature_grid: tuple[int, int] = (1, 1)  # Lite0's head features pooled to rows x cols (small_cnn: always 2x3)
    cnn_width: int = 8  # small_cnn channels of the first stage (x2 per stage)
    temporal: str = "gru"
    hidden: int = 64
    height: int = 96  # frame size fed to the CNN (the 4 fps clips are 480x720)
    width: int = 144
    classes: tuple[str, ...] = EVENT_CLASSES
    fps: float = 4.0

    def validate(self) -> None:
        if self.backbone not in BACKBONES:
            raise SpotterConfigError(f"unknown spotter backbone {self.backbone!r}; known: {', '.join(BACKBONES)}")
        if self.temporal not in TEMPORAL:
            raise SpotterConfigError(f"unknown temporal model {self.temporal!r}; known: {', '.join(TEMPORAL)}")
        if self.height < 32 or self.width < 32:
            raise SpotterConfigError(f"frame size {self.height}x{self.width} is too small (>= 32x32)")
        if self.backbone_weights and self.backbone == "small_cnn":
            raise SpotterConfigError("backbone_weights is for a pretrained backbone; small_cnn trains from scratch")

    @property
    def frozen(self) -> bool:
        """Whether the backbone stays fixed (small_cnn, trained from scratch, never is)."""
        return self.freeze_backbone and self.backbone != "small_cnn"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"], d["feature_grid"] = list(self.classes), list(self.feature_grid)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        """As saved by ``to_dict`` (lists back to tuples; fields added later keep their defaults)."""
        return cls(**{**d, "classes": tuple(d["classes"]), "feature_grid": tuple(d.get("feature_grid", (1, 1)))})


class SmallCNN(nn.Module):
    """Four strided conv stages, then a coarse 2x3 spatial pool: where on the pitch (or the screen
    bottom) something happens survives, unlike with a global average."""

    def __init__(self, width: int = 32):
        super().__init__()
        chans = [3, width, width * 2, width * 4, width * 4]
        layers = []
        for a, b in zip(chans, chans[1:]):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d((2, 3))
        self.out_dim = chans[-1] * 6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(x)).flatten(1)


class Lite0Features(nn.Module):
    """EfficientNet-Lite0's pooled head features as a backbone (its classifier is kept unused, so the saved
    spotter holds the packaged state dict whole)."""

    def __init__(self, weights: str | None, pretrained: bool, grid: tuple[int, int] = (1, 1)):
        super().__init__()
        self.net = lite.load_lite0(weights, grid) if pretrained else lite.EfficientNetLite0(grid)
        self.out_dim = self.net.out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


def make_backbone(cfg: NetConfig, pretrained: bool = True) -> tuple[nn.Module, int]:
    """The per-frame encoder and its feature size; ``pretrained`` False builds it empty (a saved spotter's
    state dict fills it)."""
    if cfg.backbone == "small_cnn":
        net = SmallCNN(cfg.cnn_width)
        return net, net.out_dim
    if cfg.backbone == "efficientnet_lite0":
        try:
            net = Lite0Features(cfg.backbone_weights, pretrained, tuple(cfg.feature_grid))
        except lite.BackboneWeightsError as exc:
            raise SpotterConfigError(str(exc)) from None
        return net, net.out_dim
    from torchvision.models import regnet_y_800mf

    net = regnet_y_800mf(weights=None)
    if cfg.backbone_weights and pretrained:
        state = torch.load(cfg.backbone_weights, map_location="cpu", weights_only=True)
        missing, _ = net.load_state_dict(state, strict=False)
        if [k for k in missing if not k.startswith("fc.")]:
            raise SpotterConfigError(f"backbone_weights {cfg.backbone_weights}: not a RegNetY-800MF state dict "
                                     f"(missing {missing[0]} ...)")
    dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, dim


class TemporalConv(nn.Module):
    """Residual dilated 1-D convolutions (receptive field ~15 frames), the GRU's light alternative."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.inp = nn.Conv1d(dim, 2 * hidden, 1)
        self.blocks = nn.ModuleList(nn.Conv1d(2 * hidden, 2 * hidden, 3, padding=d, dilation=d) for d in (1, 2, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, T, 2H)
        h = self.inp(x.transpose(1, 2))
        for conv in self.blocks:
            h = h + F.relu(conv(h))
        return h.transpose(1, 2)


class SpotterNet(nn.Module):
    """Backbone -> projection -> temporal model -> heads. With a frozen backbone the backbone stays in eval
    mode (its BatchNorm statistics are ImageNet's) and gets no gradient, and ``forward`` also takes the
    backbone's per-frame ``features`` instead of frames, so training can reuse features computed once."""

    def __init__(self, cfg: NetConfig, fg_weight: float = 5.0, member_pos_weight: float = 4.0, pretrained: bool = True):
        super().__init__()
        cfg.validate()
        self.cfg, self.fg_weight, self.member_pos_weight = cfg, fg_weight, member_pos_weight
        self.backbone, dim = make_backbone(cfg, pretrained)
        self.feature_dim = dim
        if cfg.frozen:
            self.backbone.requires_grad_(False)
        self.proj = nn.Sequential(nn.Linear(dim, 2 * cfg.hidden), nn.ReLU(inplace=True), nn.Dropout(0.1))
        if cfg.temporal == "gru":
            self.temporal = nn.GRU(2 * cfg.hidden, cfg.hidden, batch_first=True, bidirectional=True)
        else:
            self.temporal = TemporalConv(2 * cfg.hidden, cfg.hidden)
        n = len(cfg.classes)
        self.spot_head = nn.Linear(2 * cfg.hidden, n + 1)
        self.member_head = nn.Linear(2 * cfg.hidden, n)
        mean, std = (lite.MEAN, lite.STD) if cfg.backbone == "efficientnet_lite0" else (MEAN, STD)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "SpotterNet":
        super().train(mode)
        if self.cfg.frozen:
            self.backbone.eval()
        return self

    def backbone_features(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 -> (B, T, D) per-frame backbone features (before the projection)."""
        b, t = frames.shape[:2]
        x = frames.reshape(b * t, *frames.shape[2:]).permute(0, 3, 1, 2).float().div_(255)
        x = (x - self.mean) / self.std
        if self.cfg.frozen:
            with torch.no_grad():
                return self.backbone(x).view(b, t, -1)
        return self.backbone(x).view(b, t, -1)

    def forward(self, frames: torch.Tensor | None = None, spot_target: torch.Tensor | None = None,
                member_target: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                features: torch.Tensor | None = None) -> dict:
        if features is None:
            if frames is None:
                raise ValueError("SpotterNet needs frames or backbone features")
            features = self.backbone_features(frames)
        out = self.heads(features)
        if spot_target is not None and member_target is not None:
            out["loss"] = self.loss(out, spot_target, member_target, mask)
        return out

    def heads(self, features: torch.Tensor) -> dict:
        """(B, T, D) backbone features -> per-frame spot and membership logits."""
        h = self.proj(features)
        h = self.temporal(h)[0] if isinstance(self.temporal, nn.GRU) else self.temporal(h)
        return {"spot_logits": self.spot_head(h), "member_logits": self.member_head(h)}

    def loss(self, out: dict, spot_target: torch.Tensor, member_target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Soft-target cross-entropy (foreground frames weighted ``fg_weight``) + membership BCE (positives
        weighted ``member_pos_weight``: a class is inside an event on a few percent of frames)."""
        mask = torch.ones(spot_target.shape[:2], device=spot_target.device) if mask is None else mask.float()
        ce = -(spot_target * F.log_softmax(out["spot_logits"].float(), -1)).sum(-1)
        weight = mask * (1 + (self.fg_weight - 1) * (1 - spot_target[..., -1]))
        spot = (ce * weight).sum() / weight.sum().clamp(min=1)
        pos = torch.tensor(self.member_pos_weight, device=member_target.device)
        bce = F.binary_cross_entropy_with_logits(out["member_logits"].float(), member_target, reduction="none",
                                                 pos_weight=pos).mean(-1)
        member = (bce * mask).sum() / mask.sum().clamp(min=1)
        return spot + member

    @torch.no_grad()
    def scores(self, frames: torch.Tensor | None = None, features: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-frame (spot probabilities of the classes, membership probabilities), both in [0, 1], and the
        per-frame backbone features they came from (the domain score pools them)."""
        if features is None:
            features = self.backbone_features(frames)
        out = self.heads(features)
        return out["spot_logits"].float().softmax(-1)[..., :-1], out["member_logits"].float().sigmoid(), features
