"""The search loop of a differentiable method: one supernet training run that writes every
epoch's derived architecture into the experiment's store as a trial.

The budget is the number of epochs; epoch ``e`` becomes trial ``e``: the architecture derived from
α after the epoch, scored by the experiment's own evaluator (the same metrics every strategy's
trials carry, e.g. the NB201 table's CIFAR-10 accuracy, with the test accuracy hidden) plus the
cost models the objectives name, and ``oneshot_val_accuracy``: the supernet's accuracy (%) with
the derived choices on the last ``eval_images`` validation images, which the architecture step
never sees. ``cost_s`` is the epoch's measured wall time (supernet training, derivation, scoring).

Weights train on the first ``train_images`` of the training split, α on the first ``val_images``
of the validation split (the fixed split of :mod:`hynas.training.data`: for Fashion-MNIST, 10,000
of the 60,000 training images). The store's driver lease is held and refreshed meanwhile.

Beside a file store ``runs/x.db`` the run keeps ``runs/x-differentiable/``: ``checkpoint.safetensors``
(after every epoch, :class:`hynas.training.loop.ResumableRun`: supernet, α, both optimisers, the
RNGs), ``alphas.json`` and ``op_mix.png`` (:mod:`hynas.differentiable.outputs`). The same command
after a kill resumes from the checkpoint bit for bit; an epoch that was stored but not yet
checkpointed is trained again and must derive the stored architecture.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.metrics import resolve_cost_model
from hynas.core.store import Store, TrialRecord
from hynas.core.strategy import Candidate
from hynas.differentiable import outputs, rules
from hynas.differentiable.cost import CostTable, estimated_penalty, hardware_loss
from hynas.differentiable.layout import Layout, layout_for
from hynas.differentiable.method import DifferentiableMethod
from hynas.differentiable.supernet import build_supernet

if TYPE_CHECKING:
    from hynas.wiring import Experiment

__all__ = ["cost_function", "run_differentiable", "workdir"]

LEASE_S = 30.0


def cost_function(experiment: Experiment, name: str, method: str) -> Callable[[Architecture], float]:
    """A whole-architecture cost called ``name``: a cost model, or a metric of a tabular evaluator."""
    metric = experiment.evaluator.metrics().get(name)
    if metric is not None and name not in experiment.cost_models:
        if metric.hidden or metric.direction != "min" or experiment.evaluator.table([name]) is None:
            raise HynasError(
                f"{method}: cost term {name!r} is an evaluator metric that is not a tabulated cost; "
                "give a cost model (`hynas list objectives`, e.g. latency@roofline:raspi4, flops, params)"
            )
        return lambda arch: float(experiment.evaluator.evaluate(arch).metrics[name])
    try:
        model = experiment.cost_models.get(name) or resolve_cost_model(name, experiment.space)
    except HynasError as exc:
        raise HynasError(f"{method}: unknown cost term {name!r} ({exc})") from None
    if model is not None:
        if model.info.direction != "min":
            raise HynasError(f"{method}: cost term {name!r} is maximised; a hardware term must be a cost")
        return lambda arch: float(model(arch))
    raise HynasError(
        f"{method}: unknown cost term {name!r} for space {experiment.space.name!r}; give a cost model "
        "(`hynas list objectives`, e.g. latency@roofline:raspi4, flops, params) or a cost the "
        "evaluator's table holds"
    )


def workdir(store: Store) -> Path | None:
    """``runs/x-differentiable/`` beside a file store ``runs/x.db``; ``None`` for other stores."""
    from hynas.stores import sqlite_path

    file = sqlite_path(store.location or store.path) if (store.location or store.path) else None
    if not store.durable or file is None:
        return None
    p = Path(file)
    return p.with_name(p.stem + "-differentiable")


class _Data:
    """The three splits as float tensors, and batches for the supernet's input size."""

    def __init__(self, opts: dict[str, Any], method: str, size: int | None) -> None:
        from hynas.training.data import load_images

        data = load_images(opts["data"])
        a = data.arrays
        n_tr, n_va, n_ev = opts["train_images"], opts["val_images"], opts["eval_images"]
        if n_tr > len(a["train_x"]) or n_va + n_ev > len(a["val_x"]):
            raise HynasError(
                f"{method}: {data.name} has {len(a['train_x'])} training and {len(a['val_x'])} validation "
                f"images; train_images={n_tr}, val_images + eval_images = {n_va + n_ev} do not fit"
            )
        if size is None and data.channels != 1:
            raise HynasError(f"{method}: the nb201 supernet is for grey images; {data.name} has colour")

        def t(raw: np.ndarray) -> Tensor:
            x = torch.as_tensor(raw.astype(np.float32) / (255.0 if raw.dtype == np.uint8 else 1.0))
            x = (x - float(a["mean"])) / float(a["std"])
            return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)

        self.train = (t(a["train_x"][:n_tr]), torch.as_tensor(a["train_y"][:n_tr]))
        self.val = (t(a["val_x"][:n_va]), torch.as_tensor(a["val_y"][:n_va]))
        self.eval = (t(a["val_x"][-n_ev:]), torch.as_tensor(a["val_y"][-n_ev:]))
        self.size, self.channels, self.fingerprint = size, data.channels, data.fingerprint

    def prep(self, x: Tensor) -> Tensor:
        if self.size is None:
            return x
        x = torch.nn.functional.interpolate(
            x, size=(self.size, self.size), mode="bilinear", align_corners=False
        )
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class _Search:
    """One run's supernet, α, optimisers and steps."""

    def __init__(self, exp: Experiment, method: DifferentiableMethod, layout: Layout, data: _Data) -> None:
        o = self.o = method.options
        self.name, self.layout, self.data = method.name, layout, data
        self.epochs = int(exp.config.budget or 0)
        partial = o["partial"] if self.name == "pcdarts" else 1
        torch.manual_seed(exp.config.seed)
        self.net = build_supernet(layout, o["channels"], o["cells"], partial, data.channels)
        self.alphas, self.betas = rules.arch_parameters([len(c) for c in layout.choices], self.name)
        self.holder = nn.ModuleDict({"net": self.net, "alphas": self.alphas, "betas": self.betas})
        self.w_opt = torch.optim.SGD(
            self.net.parameters(), lr=o["w_lr"], momentum=o["w_momentum"], weight_decay=o["w_decay"]
        )
        self.a_opt = torch.optim.Adam(
            [*self.alphas, *self.betas], lr=o["arch_lr"], betas=(0.5, 0.999), weight_decay=o["arch_decay"]
        )
        self.rng = np.random.default_rng(exp.config.seed)
        self.cost: CostTable | None = None
        self.ramp = 0.0
        self.steps = o["steps"] or max(1, len(data.train[0]) // o["batch"])  # fmt: skip

    def loss(self, x: Tensor, y: Tensor, step: str, tau: float) -> Tensor:
        gates, probs = rules.gates_for(self.name, [*self.alphas], step, tau)
        ce = nn.functional.cross_entropy(
            self.net(self.data.prep(x), gates, rules.edge_weights([*self.betas], step)), y
        )
        if step == "weights":
            return ce
        o = self.o
        if self.cost is not None:
            r = estimated_penalty(
                self.cost, o["cost_estimate"], [*self.alphas], probs, samples=o["cost_samples"],
                scale=self.cost.base if self.cost.base > 0 else 1.0, target=o["target"], target_style=o["target_style"],
            )  # fmt: skip
            ce = hardware_loss(ce, r, style=o["cost_style"], weight=o["cost_weight"], beta=o["cost_beta"])
        if o["entropy"] > 0:
            ce = ce + o["entropy"] * self.ramp * rules.entropy([*self.alphas])
        return ce

    def epoch(self, epoch: int, beat: Callable[[], None]) -> float:
        """Train one epoch; returns the mean training loss."""
        o, b = self.o, self.o["batch"]
        tau = rules.temperature(self.name, epoch, self.epochs, o["tau_max"], o["tau_min"])
        # the entropy term's share: 0 at the first epoch, 1 at the last
        self.ramp = epoch / max(1, self.epochs - 1)
        tr_x, tr_y = self.data.train
        va_x, va_y = self.data.val
        perm, vperm = self.rng.permutation(len(tr_x)), self.rng.permutation(len(va_x))
        weights = [p for p in self.net.parameters()]
        total = 0.0
        for i in range(self.steps):
            cosine = 1 + math.cos(math.pi * (epoch * self.steps + i) / (self.epochs * self.steps))
            for g in self.w_opt.param_groups:
                g["lr"] = o["w_lr"] * 0.5 * cosine
            if o["arch_schedule"] == "cosine":
                for g in self.a_opt.param_groups:
                    g["lr"] = o["arch_lr"] * 0.5 * cosine
            ti = torch.as_tensor(perm[(i * b + np.arange(b)) % len(perm)])
            x, y = tr_x[ti], tr_y[ti]
            if epoch >= o["warmup"]:
                vi = torch.as_tensor(vperm[(i * b + np.arange(b)) % len(vperm)])
                xv, yv = va_x[vi], va_y[vi]
                self.a_opt.zero_grad()
                if self.name == "darts2":
                    self._second_order(weights, (x, y), (xv, yv), tau)
                else:
                    self.loss(xv, yv, "arch", tau).backward()
                self.a_opt.step()
            self.w_opt.zero_grad()
            loss = self.loss(x, y, "weights", tau)
            if not torch.isfinite(loss):
                raise HynasError(
                    f"{self.name}: the training loss became {float(loss)} at epoch {epoch}; lower w_lr"
                )
            loss.backward()
            nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
            self.w_opt.step()
            total += float(loss.detach())
            beat()
        return total / self.steps

    def _second_order(
        self,
        weights: list[nn.Parameter],
        train: tuple[Tensor, Tensor],
        val: tuple[Tensor, Tensor],
        tau: float,
    ) -> None:
        rules.second_order_step(
            weights, [*self.alphas], lambda: self.loss(*train, "arch", tau),
            lambda: self.loss(*val, "arch", tau), self.o["xi"], self.o["w_decay"],
        )  # fmt: skip

    @torch.no_grad()
    def oneshot(self, picks: list[int]) -> float:
        """Accuracy (%) of the supernet with the derived choices on the held-out images."""
        gates: rules.Gates = [
            (torch.ones(len(c)), [p]) for c, p in zip(self.layout.choices, picks, strict=True)
        ]
        ew = rules.edge_weights([*self.betas], "weights")
        x, y = self.data.eval
        right = 0
        for s in range(0, len(x), 250):
            out = self.net(self.data.prep(x[s : s + 250]), gates, ew)
            right += int((out.argmax(1) == y[s : s + 250]).sum())
        return 100.0 * right / len(x)


def prepare(experiment: Experiment) -> tuple[Any, CostTable | None]:
    """The supernet layout and the hardware term's cost table of a differentiable search, after
    checking what can be checked before anything is stored: the budget (epochs), the space, the
    cost term and its target."""
    method = experiment.strategy
    assert isinstance(method, DifferentiableMethod)
    cfg, o, name = experiment.config, method.options, method.name
    if cfg.budget is None:
        raise HynasError(f"{name} needs --budget: the number of epochs (one derived architecture per epoch)")
    if cfg.space not in method.spaces:
        raise HynasError(
            f"{name} does not support space {cfg.space!r}; it searches: {', '.join(method.spaces)}"
        )
    layout = layout_for(experiment.space, name, o["resolution"])
    table = None
    if o["cost"] is not None:
        table = CostTable.build(o["cost"], layout, cost_function(experiment, o["cost"], name))
        table.check_target(o["target"], name)
    return layout, table


def run_differentiable(
    experiment: Experiment,
    store: Store,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None = None,
) -> list[TrialRecord]:
    """Run (or resume) a differentiable search; returns every stored trial (one per epoch)."""
    from hynas.training.loop import ResumableRun

    method = experiment.strategy
    assert isinstance(method, DifferentiableMethod)
    cfg, o, name = experiment.config, method.options, method.name
    layout, table = prepare(experiment)
    epochs = cfg.budget
    assert epochs is not None  # prepare() refuses a run without a budget
    experiment.config.check_store(store, same_budget="a differentiable search's schedules span its epochs")
    size = None if layout.resolution is None else max(8, round(layout.resolution * o["resolution_scale"]))
    data = _Data(o, name, size)
    folder = workdir(store)
    threads = torch.get_num_threads()
    torch.set_num_threads(o["threads"])
    token = uuid.uuid4().hex
    acquired = False
    try:
        s = _Search(experiment, method, layout, data)
        s.cost = table
        run = ResumableRun(
            None if folder is None else folder / "checkpoint.safetensors", model=s.holder, space=cfg.space,
            config={**o, "method": name, "epochs": cfg.budget, "seed": cfg.seed}, kind="differentiable",
            data_fingerprint=data.fingerprint, optimizers={"weights": s.w_opt, "arch": s.a_opt},
            generators={"data": s.rng}, every=1,
        )  # fmt: skip
        stored = store.trials()
        done = run.resume()
        if len(stored) < done or (done == 0 and stored):
            raise HynasError(
                f"store {store.path!r} holds {len(stored)} epochs but the checkpoint in {folder} holds {done}; "
                "the checkpoint does not belong to this store: start a new --store"
            )
        store.acquire(token, LEASE_S)
        acquired = True
        if store.config() is None:
            store.set_config(cfg.to_dict())
        history: list[dict[str, Any]] = list(run.extra.get("alphas", []))
        records = list(stored)
        last = [time.monotonic()]

        def beat() -> None:
            if time.monotonic() - last[0] > LEASE_S / 3:
                store.heartbeat(token)
                last[0] = time.monotonic()

        evaluated: dict[str, Any] = {}
        for epoch in run.steps(epochs):
            t0, started = time.perf_counter(), time.time()
            train_loss = s.epoch(epoch, beat)
            picks = rules.derive([*s.alphas])
            arch = layout.decode(picks)
            acc = s.oneshot(picks)
            probs = [[round(float(v), 6) for v in torch.softmax(a.detach(), 0)] for a in s.alphas]
            history.append(
                {
                    "epoch": epoch,
                    "arch": str(arch),
                    "train_loss": train_loss,
                    "oneshot_val_accuracy": acc,
                    "probs": probs,
                }
            )
            run.extra["alphas"] = history
            if folder is not None:
                outputs.write_history(folder, name, layout, history)
                outputs.write_plot(folder, name, layout, history)
            if epoch < len(stored):
                if stored[epoch].arch != str(arch):
                    raise HynasError(
                        f"cannot resume from {store.path!r}: epoch {epoch} derives {arch} but the store holds "
                        f"{stored[epoch].arch}; the checkpoint was written by a different hynas version"
                    )
                continue
            if str(arch) not in evaluated:
                evaluated[str(arch)] = experiment.evaluate(Candidate(arch, None))
            ev = evaluated[str(arch)]
            rec = TrialRecord(
                number=epoch, arch=str(arch), status="completed", fidelity=ev.fidelity,
                metrics={**ev.metrics, "oneshot_val_accuracy": acc}, hidden=dict(ev.hidden),
                cost_s=time.perf_counter() - t0, started_at=started, finished_at=time.time(),
            )  # fmt: skip
            store.add(rec)
            records.append(rec)
            if on_trial is not None:
                on_trial(rec, records)
        return records
    finally:
        torch.set_num_threads(threads)
        if acquired:
            store.release(token)
