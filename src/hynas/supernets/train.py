"""Training the elastic mobile supernet on Fashion-MNIST: progressive shrinking or the sandwich rule.

Two schedules, as library functions (``hynas supernet train`` runs them):

- ``progressive``: once-for-all's progressive shrinking (Cai et al., "Once-for-All: Train One
  Network and Specialize it for Efficient Deployment", ICLR 2020). Phases train the largest
  network (``full``), then sample kernels (``kernel``), then depths (``depth``: the two largest
  depths for the first half of the phase, all of them after), then expand ratios (``expand``: the
  two largest, then all; channels are sorted by importance, :meth:`ElasticMobileNet.reorganize_channels`,
  when the phase starts). The resolution is sampled in every phase. One sub-network per step.
- ``sandwich``: BigNAS's sandwich rule with in-place distillation (Yu et al., "BigNAS: Scaling up
  Neural Architecture Search with Big Single-Stage Models", ECCV 2020): every step trains the
  largest network on the labels, and the smallest plus ``sandwich_random`` random sub-networks on
  the largest's soft predictions; the gradients add up before one optimiser step. The largest and
  smallest run at the largest and smallest input resolution (``sandwich_resolution="extremes"``,
  BigNAS's rule) or each at a random one (``"random"``): with the extremes the smallest resolution
  is trained every step and the middle ones only by the random sub-networks. ``"balanced"`` keeps
  the extremes and puts the random sub-networks at the resolutions between them, each equally
  often (every resolution is trained once a step with four networks; measured worse: the extreme
  resolutions then see only the largest or the smallest network). ``"shared"`` draws one
  resolution a step for all of them, as once-for-all samples one per batch: every resolution is
  trained by the largest, the smallest and the random sub-networks alike (measured: it ranks
  better, but its weights fine-tune worse; docs/supernet.md). ``"anchored"`` keeps the largest
  network at the largest resolution, as BigNAS does, and draws one resolution a step for the
  smallest and the random sub-networks together. Under both, ``resolution_weights`` (one number per
  resolution of the space, in its order) draws the step's resolution in those proportions instead
  of uniformly.

``ema_decay`` keeps an exponential moving average of the weights, as BigNAS does; it is saved in
the checkpoint (module ``ema``), resumed with it, and :func:`hynas.supernets.saved.load_supernet`
scores the averaged weights.

Distillation (``distill``) in the progressive phases after ``full``: the loss is the label
cross-entropy plus ``kd_weight`` × the soft cross-entropy to a teacher's predictions on the same
batch. The teacher is the supernet's current largest network (``inplace``, BigNAS) or, as in
once-for-all, a frozen copy of the network trained by the ``full`` phase (``frozen``; saved next to
the checkpoint as ``<name>.teacher.safetensors`` so a resumed run finds it); ``none`` turns it off. Each phase has its own SGD optimiser (Nesterov momentum 0.9, weight decay
4e-5) and cosine learning rate. Batches and sub-networks come from one numpy generator seeded by
``seed``; with a ``checkpoint`` path the run saves every ``checkpoint_every`` steps and at the end
(:mod:`hynas.training.checkpoint`) and resumes bit for bit from an existing checkpoint.

:func:`evaluate_subnet` scores a sub-network the way once-for-all does: extract it, recompute its
BatchNorm statistics on a fixed set of training images (:func:`recalibrate_bn`), then score it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.spaces.mobile import STAGES, MobileSpace
from hynas.supernets.extract import extract
from hynas.supernets.mobile import ElasticMobileNet
from hynas.supernets.saved import EMA
from hynas.training.checkpoint import fingerprint, load_checkpoint, save_checkpoint
from hynas.training.distill import soft_cross_entropy
from hynas.training.loop import ResumableRun, moving_average

__all__ = [
    "PHASES",
    "StepRecord",
    "SupernetTrainConfig",
    "evaluate_subnet",
    "fmnist_inputs",
    "image_inputs",
    "recalibrate_bn",
    "sample_arch",
    "train_supernet",
]

PHASES = ("full", "kernel", "depth", "expand")
METHODS = ("progressive", "sandwich")
DISTILL = ("none", "inplace", "frozen")
SANDWICH_RESOLUTION = ("extremes", "random", "balanced", "shared", "anchored")
#: the rules that draw one resolution a step, whose odds ``resolution_weights`` sets
DRAWN_RESOLUTION = ("shared", "anchored")


@dataclass(frozen=True)
class SupernetTrainConfig:
    """How to train: ``steps`` per progressive phase (4 numbers) or of the sandwich run (1 number)."""

    method: str = "progressive"
    steps: tuple[int, ...] = (100, 100, 100, 100)
    batch: int = 32
    lr: float = 0.05
    distill: str = "inplace"
    kd_weight: float = 1.0
    sandwich_random: int = 2
    seed: int = 0
    checkpoint_every: int = 0
    sandwich_resolution: str = "extremes"
    ema_decay: float = 0.0
    resolution_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise HynasError(f"unknown supernet training method {self.method!r}; valid: {', '.join(METHODS)}")
        if self.distill not in DISTILL or (self.method == "sandwich" and self.distill == "frozen"):
            valid = DISTILL if self.method == "progressive" else DISTILL[:2]
            raise HynasError(
                f"distill {self.distill!r} is not a choice for {self.method} training; valid: {', '.join(valid)}"
            )
        if self.sandwich_resolution not in SANDWICH_RESOLUTION:
            raise HynasError(
                f"unknown sandwich_resolution {self.sandwich_resolution!r}; valid: {', '.join(SANDWICH_RESOLUTION)}"
            )
        if self.sandwich_resolution != "extremes" and self.method != "sandwich":
            raise HynasError("sandwich_resolution applies to the sandwich schedule only; leave it out")
        want = len(PHASES) if self.method == "progressive" else 1
        if len(self.steps) != want or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in self.steps
        ):
            raise HynasError(f"{self.method} training needs {want} step count(s) >= 1, got {self.steps!r}")
        for name, value, low in (("batch", self.batch, 1), ("sandwich_random", self.sandwich_random, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise HynasError(f"{name} must be a whole number >= {low}, got {value!r}")
        if not (0 < self.lr < math.inf) or not (0 <= self.kd_weight < math.inf):
            raise HynasError(f"lr must be > 0 and kd_weight >= 0, got {self.lr!r}, {self.kd_weight!r}")
        if self.resolution_weights and self.sandwich_resolution not in DRAWN_RESOLUTION:
            raise HynasError(
                "resolution_weights apply to sandwich_resolution shared or anchored only, "
                f"not {self.sandwich_resolution!r}; leave them out"
            )
        if any(isinstance(w, bool) or not isinstance(w, int | float) or not 0 < w < math.inf
               for w in self.resolution_weights):  # fmt: skip
            raise HynasError(
                f"resolution_weights must be numbers > 0, one per resolution, got {self.resolution_weights!r}"
            )
        if isinstance(self.ema_decay, bool) or not (0 <= self.ema_decay < 1):
            raise HynasError(f"ema_decay must be in [0, 1) (0: no moving average), got {self.ema_decay!r}")
        if self.checkpoint_every < 0 or self.seed < 0:
            raise HynasError("checkpoint_every and seed must be >= 0")

    @property
    def total_steps(self) -> int:
        return sum(self.steps)

    def phase_at(self, step: int) -> tuple[str, int, int]:
        """(phase, step within the phase, phase length) of global step ``step`` (0-based)."""
        if self.method == "sandwich":
            return "sandwich", step, self.steps[0]
        for name, n in zip(PHASES, self.steps, strict=True):
            if step < n:
                return name, step, n
            step -= n
        raise ValueError("step past the end of training")


@dataclass(frozen=True)
class StepRecord:
    """One training step: its phase, the sub-network(s) trained and the mean loss."""

    step: int
    phase: str
    archs: tuple[str, ...]
    loss: float


def _choices(phase: str, local: int, n: int, values: tuple[int, ...], gene: str) -> tuple[int, ...]:
    """Allowed values of one kind of gene (``kernel``, ``depth``, ``expand``) in a phase."""
    ordered = tuple(sorted(values))
    order = {"kernel": 1, "depth": 2, "expand": 3}[gene]
    if phase == "sandwich" or PHASES.index(phase) > order:
        return ordered
    if PHASES.index(phase) < order:
        return ordered[-1:]
    return ordered[-2:] if local < n // 2 else ordered  # depth/expand: two largest first


def sample_arch(
    space: MobileSpace, phase: str, rng: np.random.Generator, local: int = 0, n: int = 1
) -> Architecture:
    """A random sub-network allowed in ``phase`` (any resolution; see the module docstring)."""
    ks = _choices(phase, local, n, space.kernels, "kernel")
    es = _choices(phase, local, n, space.expands, "expand")
    ds = _choices(phase, local, n, space.depths, "depth")
    res = int(rng.choice(space.resolutions))
    stages = []
    for _ in STAGES:
        depth = int(rng.choice(ds))
        stages.append("-".join(f"k{int(rng.choice(ks))}e{int(rng.choice(es))}" for _ in range(depth)))
    return space.parse(f"r{res}|" + "|".join(stages))


def image_inputs(images: np.ndarray, data: dict[str, np.ndarray]) -> Tensor:
    """Standardised N×3×H×W inputs from N×H×W (grey, copied to 3 channels) or N×H×W×3 images
    (uint8 scaled by 1/255, floats as given; see :mod:`hynas.training.data`); the supernet resizes them."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    if images.dtype == np.uint8:
        x = x / 255.0
    x = (x - float(data["mean"])) / float(data["std"])
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x.contiguous()


#: the Fashion-MNIST name of :func:`image_inputs` (grey uint8 images)
fmnist_inputs = image_inputs


def _lr(cfg: SupernetTrainConfig, local: int, n: int) -> float:
    warm = max(1, n // 20)
    return cfg.lr * min(1.0, (local + 1) / warm) * 0.5 * (1 + math.cos(math.pi * local / n))


def _optimizer(net: nn.Module, cfg: SupernetTrainConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=4e-5)


def _checkpoint_config(net: ElasticMobileNet, cfg: SupernetTrainConfig) -> dict[str, Any]:
    s = net.space
    space = {"resolutions": s.resolutions, "kernels": s.kernels, "expands": s.expands, "depths": s.depths}
    train = asdict(cfg)
    for key, default in (("sandwich_resolution", "extremes"), ("ema_decay", 0.0), ("resolution_weights", ())):
        if train[key] == default:  # defaults are left out: older checkpoints resume
            del train[key]
    return {"train": train, "supernet": asdict(net.config), "space_options": space}


def _step(
    net: ElasticMobileNet,
    cfg: SupernetTrainConfig,
    phase: str,
    local: int,
    n: int,
    x: Tensor,
    y: Tensor,
    rng: np.random.Generator,
    frozen: ElasticMobileNet | None,
) -> tuple[list[Architecture], float]:
    """Forward and backward of one step's sub-network(s); returns them and the mean loss."""
    losses: list[float] = []
    largest = net.largest()
    if phase == "sandwich":
        archs = [largest, net.smallest()]
        if cfg.sandwich_resolution == "random":
            archs = [_at_resolution(net.space, a, int(rng.choice(net.space.resolutions))) for a in archs]
        archs += [sample_arch(net.space, phase, rng) for _ in range(cfg.sandwich_random)]
        if cfg.sandwich_resolution == "balanced":
            middle = _middle(net.space, cfg, rng)
            archs[2:] = [_at_resolution(net.space, a, r) for a, r in zip(archs[2:], middle, strict=True)]
        if cfg.sandwich_resolution in DRAWN_RESOLUTION:
            resolution = int(rng.choice(net.space.resolutions, p=_draw_odds(net.space, cfg)))
            first = 0 if cfg.sandwich_resolution == "shared" else 1  # anchored: the largest keeps its own
            archs[first:] = [_at_resolution(net.space, a, resolution) for a in archs[first:]]
    else:
        archs = [sample_arch(net.space, phase, rng, local, n)]
    teacher: Tensor | None = None
    if cfg.distill != "none" and phase not in ("sandwich", "full"):  # the sandwich's: its first forward
        with torch.no_grad():
            teacher = (net if frozen is None else frozen)(x, largest).detach()
    for i, arch in enumerate(archs):
        logits = net(x, arch)
        if phase == "sandwich" and i > 0 and teacher is not None:
            loss = soft_cross_entropy(logits, teacher)  # in-place distillation from the largest network
        else:
            loss = F.cross_entropy(logits, y)
            if teacher is not None and phase != "sandwich":
                loss = loss + cfg.kd_weight * soft_cross_entropy(logits, teacher)
        if phase == "sandwich" and i == 0 and cfg.distill == "inplace":
            teacher = logits.detach()
        if not torch.isfinite(loss):
            raise HynasError(f"supernet training diverged: loss {float(loss)} for {arch} in phase {phase}")
        loss.backward()
        losses.append(float(loss.detach()))
    return archs, sum(losses) / len(losses)


def _draw_odds(space: MobileSpace, cfg: SupernetTrainConfig) -> list[float] | None:
    """The odds of each resolution in the step's draw: uniform (``None``) or ``resolution_weights``."""
    w = cfg.resolution_weights
    if not w:
        return None
    if len(w) != len(space.resolutions):
        raise HynasError(
            f"resolution_weights has {len(w)} numbers, the space {len(space.resolutions)} resolutions "
            f"({', '.join(map(str, space.resolutions))}); give one weight per resolution"
        )
    return [x / sum(w) for x in w]


def _middle(space: MobileSpace, cfg: SupernetTrainConfig, rng: np.random.Generator) -> list[int]:
    """The random sub-networks' resolutions under ``balanced``: the ones between the extremes (all
    of them when there are two or fewer), each used equally often in a step, in a random order."""
    res = sorted(space.resolutions)
    middle = res[1:-1] or res
    order = [middle[int(i)] for i in rng.permutation(len(middle))]
    return [order[i % len(order)] for i in range(cfg.sandwich_random)]


def _at_resolution(space: MobileSpace, arch: Architecture, resolution: int) -> Architecture:
    return space.parse(f"r{resolution}|" + space.format(arch).split("|", 1)[1])


def train_supernet(
    net: ElasticMobileNet,
    cfg: SupernetTrainConfig,
    data: dict[str, np.ndarray],
    checkpoint: str | Path | None = None,
    stop_after: int | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    extra: dict[str, Any] | None = None,
) -> list[StepRecord]:
    """Train ``net`` on ``data`` (:attr:`hynas.training.data.ImageData.arrays`); see the module.

    ``stop_after`` ends the run after that global step (an interruption, for tests and time limits);
    the checkpoint is written there; ``extra`` (JSON) goes into its header (the trainer CLI records
    the data source there). Seeds torch's global generator with ``cfg.seed`` (a resumed run
    restores it from the checkpoint). Returns the records of the steps run by this call.
    """
    _draw_odds(net.space, cfg)  # a wrong number of weights fails before anything is written
    net.train()
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    train_x, train_y = data["train_x"], data["train_y"]
    config = _checkpoint_config(net, cfg)
    data_id = fingerprint(train_x, train_y)
    ckpt = None if checkpoint is None else Path(checkpoint)
    opt = _optimizer(net, cfg)
    ema = moving_average(net, cfg.ema_decay) if cfg.ema_decay else None
    run = ResumableRun(
        ckpt, model=net, space="mobile", config=config, kind="supernet/mobile", data_fingerprint=data_id,
        optimizer=opt, generators={"train": rng}, every=cfg.checkpoint_every, extra=extra,
        modules={} if ema is None else {EMA: ema},
    )  # fmt: skip
    start = run.resume()

    frozen: ElasticMobileNet | None = None
    teacher_file = None if ckpt is None else ckpt.with_name(ckpt.stem + ".teacher.safetensors")
    if cfg.distill == "frozen" and start > cfg.steps[0]:  # resumed after the teacher was frozen
        if teacher_file is None or not teacher_file.exists():
            raise HynasError(f"cannot resume {ckpt}: its frozen teacher {teacher_file} is missing")
        frozen = _teacher(net)
        load_checkpoint(teacher_file, model=frozen, space="mobile", config=config, restore_rng=False)

    records = []
    for step in run.steps(cfg.total_steps, stop_after):
        phase, local, n = cfg.phase_at(step)
        if local == 0:  # a new phase: sort channels before shrinking the expansion, fresh optimiser
            if phase == "expand":
                net.reorganize_channels()
            if phase == "kernel" and cfg.distill == "frozen":
                frozen = _teacher(net, net.state_dict())
                if teacher_file is not None:
                    save_checkpoint(
                        teacher_file, model=frozen, step=step, space="mobile", config=config,
                        kind="supernet/mobile-teacher", data_fingerprint=data_id,
                    )  # fmt: skip
            run.optimizer = opt = _optimizer(net, cfg)
        for group in opt.param_groups:
            group["lr"] = _lr(cfg, local, n)
        idx = np.sort(rng.choice(len(train_y), cfg.batch, replace=False))
        x, y = image_inputs(train_x[idx], data), torch.from_numpy(train_y[idx])
        x = x.contiguous(memory_format=torch.channels_last)  # 1.4× faster steps on a CPU than NCHW
        opt.zero_grad(set_to_none=True)
        archs, loss = _step(net, cfg, phase, local, n, x, y, rng, frozen)
        opt.step()
        if ema is not None:
            ema.update_parameters(net)
        record = StepRecord(step + 1, phase, tuple(net.space.format(a) for a in archs), loss)
        records.append(record)
        if on_step is not None:
            on_step(record)
    return records


def _teacher(net: ElasticMobileNet, state: dict[str, Tensor] | None = None) -> ElasticMobileNet:
    """A frozen copy of the supernet (the largest network teaches), in train mode as it is trained."""
    with torch.device("meta"):  # no initialisation (it would draw from torch's generator)
        teacher = ElasticMobileNet(net.space, net.config)
    teacher.to_empty(device=net.classifier.weight.device)  # filled from ``state`` or a checkpoint
    if state is not None:
        teacher.load_state_dict(state)
    return teacher.requires_grad_(False).train()


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Iterable[Tensor]) -> None:
    """Recompute every BatchNorm's running statistics as the plain average over ``batches``.

    Weights are untouched; the model's mode and the BatchNorm momenta are restored afterwards. Meant
    for a static (extracted) network: on the supernet it would reset the inactive channels too.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    was_training = model.training
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    for x in batches:
        model(x)
    for bn, m in zip(bns, momenta, strict=True):
        bn.momentum = m
    model.train(was_training)


def evaluate_subnet(
    net: ElasticMobileNet,
    arch: Architecture,
    data: dict[str, np.ndarray],
    bn_images: int = 500,
    eval_images: int = 1000,
    split: str = "val",
) -> dict[str, float]:
    """Accuracy (%) and mean cross-entropy of ``arch``'s extracted network after BN recalibration.

    BatchNorm statistics come from the first ``bn_images`` training images (the same fixed set for
    every sub-network); the score from the first ``eval_images`` of ``split`` (``val`` or ``test``).
    """
    sub = extract(net, arch)
    size = net.input_size()

    sub = sub.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # 1.5× faster on a CPU than NCHW

    def sized(x: Tensor) -> Tensor:
        if x.shape[-2:] != (size, size):
            shrink = size < max(x.shape[-2:])
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
        return x.contiguous(memory_format=torch.channels_last)

    calib = data["train_x"][:bn_images]
    recalibrate_bn(sub, (sized(image_inputs(calib[i : i + 250], data)) for i in range(0, len(calib), 250)))
    sub.eval()
    xs, ys = data[f"{split}_x"][:eval_images], data[f"{split}_y"][:eval_images]
    correct, nats = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(ys), 250):
            logits = sub(sized(image_inputs(xs[i : i + 250], data)))
            y = torch.from_numpy(ys[i : i + 250])
            nats += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return {"accuracy": 100.0 * correct / len(ys), "loss": nats / len(ys)}
