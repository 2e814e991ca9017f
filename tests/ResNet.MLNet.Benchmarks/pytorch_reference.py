#!/usr/bin/env python3
"""Reference timings in PyTorch for the chapter's models: the raw training step, and the CLI's recipe end to end.

Not a dependency of the library: the benchmark runner starts it (when Debian's python3-torch and python3-pil are
installed, `apt-get install python3-torch python3-pil`) and alternates runs of it with our runs of the same work, so
both sides see the same machine state. Protocol: after one JSON line with the torch version, every stdin line is one of
- `Name size batch format steps` (format `default` or `channels-last`, PyTorch's recommended CPU setting for
  convolutions): builds that case once (with two warm-up steps), runs `steps` training steps, prints `{"seconds": ...}`;
- `e2e folder Name presize size batch epochs max_lr format seed [precision]` (format `default`, `channels-last` or
  `auto`: the faster of the two in a timed trial; precision `fp32`, the default, or `bf16`: the forward pass and loss
  of training and validation under CPU autocast bf16, weights and optimiser fp32): `resnet-mlnet train`'s recipe on an
  image folder (train/ and val/ subfolders) in plain PyTorch — decode once into a uint8 cache (Resize(presize) centre
  crop), per-batch aug_transforms(size, min_scale=0.5) as one grid_sample plus logit-space lighting,
  Normalize(imagenet), fit_one_cycle with AdamW, a validation pass every epoch. Prints `{"decode_seconds", "tuning_seconds", "format", "train_images",
  "valid_images"}`, then one line per epoch `{"epoch", "seconds", "data_seconds", "step_seconds", "valid_seconds",
  "train_loss", "valid_loss", "accuracy"}`, then `{"done": true, "total_seconds"}`.

Usage: echo "SimpleCnn 128 128 default 5" | python3 pytorch_reference.py --threads 2
       python3 pytorch_reference.py --threads 2 --e2e <folder> SimpleCnn 160 128 128 3 3e-3 auto 42 bf16
"""
import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn


def conv_layer(ni, nf, ks=3, stride=1, act=True, zero=False):
    conv = nn.Conv2d(ni, nf, ks, stride=stride, padding=(ks - 1) // 2, bias=False)
    bn = nn.BatchNorm2d(nf)
    if act:
        nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
    nn.init.constant_(bn.weight, 0.0 if zero else 1.0)
    nn.init.constant_(bn.bias, 1e-3)
    layers = [conv, bn] + ([nn.ReLU(inplace=True)] if act else [])
    return nn.Sequential(*layers)


class Residual(nn.Module):
    def __init__(self, convs, ni, nf, stride):
        super().__init__()
        self.convs = convs
        self.pool = nn.AvgPool2d(2, ceil_mode=True) if stride != 1 else None
        self.idconv = conv_layer(ni, nf, 1, act=False) if ni != nf else None

    def forward(self, x):
        idp = x if self.pool is None else self.pool(x)
        idp = idp if self.idconv is None else self.idconv(idp)
        return torch.relu(self.convs(x) + idp)


def res_block(ni, nf, stride=1):
    return Residual(nn.Sequential(conv_layer(ni, nf, stride=stride), conv_layer(nf, nf, act=False, zero=True)), ni, nf, stride)


def bottleneck(ni, nf, stride=1):
    return Residual(nn.Sequential(conv_layer(ni, nf // 4, 1), conv_layer(nf // 4, nf // 4, stride=stride),
                                  conv_layer(nf // 4, nf, 1, act=False, zero=True)), ni, nf, stride)


def head(layers, features, n):
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(features, n))


def plain(block, n):
    w = [3, 16, 32, 64, 128, 256]
    return head([block(w[i], w[i + 1]) for i in range(5)], 256, n)


def resnet(n, layers, expansion=1):
    sizes = [64, 64 * expansion, 128 * expansion, 256 * expansion, 512 * expansion]
    block = res_block if expansion == 1 else bottleneck
    mods = [conv_layer(3, 32, stride=2), conv_layer(32, 32), conv_layer(32, 64), nn.MaxPool2d(3, 2, 1)]
    for s, count in enumerate(layers):
        mods.append(nn.Sequential(*[block(sizes[s] if i == 0 else sizes[s + 1], sizes[s + 1],
                                          2 if i == 0 and s > 0 else 1) for i in range(count)]))
    return head(mods, sizes[-1], n)


MODELS = {
    "SimpleCnn": lambda n: plain(lambda ni, nf: conv_layer(ni, nf, stride=2), n),
    "ResBlockCnn": lambda n: plain(lambda ni, nf: res_block(ni, nf, 2), n),
    "DeepResBlockCnn": lambda n: plain(lambda ni, nf: nn.Sequential(res_block(ni, nf, 2), res_block(nf, nf)), n),
    "ResNet18Chapter": lambda n: resnet(n, [2, 2, 2, 2]),
    "ResNet34Chapter": lambda n: resnet(n, [3, 4, 6, 3]),
    "ResNet50Chapter": lambda n: resnet(n, [3, 4, 6, 3], 4),
}


class Case:
    """One model, batch and memory format, built once and warmed up; run() times a number of training steps (the forward
    pass and loss under CPU autocast bf16 when bf16 is set)."""

    def __init__(self, name, size, batch, channels_last, bf16=False):
        self.bf16 = bf16
        self.model = MODELS[name](10).train()
        self.x = torch.randn(batch, 3, size, size)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.y = torch.randint(0, 10, (batch,))
        # AdamW with fastai's betas/eps/wd: the same arithmetic per step as the trainer's FastaiAdam (decoupled decay,
        # bias-corrected moments, eps after the square root); the loss is read back each step as the trainer does.
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
        for _ in range(2):  # warm-up: allocations, oneDNN primitive creation
            self.step()

    def step(self):
        self.opt.zero_grad()
        with autocast(self.bf16):
            loss = nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.item()
        loss.backward()
        self.opt.step()

    def run(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - start


def autocast(bf16):
    """CPU autocast to bf16 (PyTorch's mixed precision on the CPU), or nothing."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)


def load_folder(root, presize, threads):
    """Every image of root/train and root/val decoded once, as fastai's Resize(presize, method='crop') with the crop
    centred: the centred square of side min(w, h), resized (bilinear) to presize. Returns per split an [N, p, p, 3]
    uint8 cache (PIL's row layout; its permute(0, 3, 1, 2) is the [N, 3, p, p] channels-last view) and the labels."""
    import numpy as np
    from PIL import Image

    classes = sorted(d.name for d in os.scandir(os.path.join(root, "train")) if d.is_dir())

    def cache(split):
        listed = [(os.path.join(root, split, c, f), i) for i, c in enumerate(classes)
                  if os.path.isdir(os.path.join(root, split, c)) for f in sorted(os.listdir(os.path.join(root, split, c)))]
        images = torch.empty(len(listed), presize, presize, 3, dtype=torch.uint8)

        def decode(i):  # PIL releases the GIL while decoding and resampling
            with Image.open(listed[i][0]) as im:
                w, h = im.size
                side = min(w, h)
                box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
                im = (im if im.mode == "RGB" else im.convert("RGB")).resize((presize, presize), Image.BILINEAR, box=box)
            images[i].numpy()[:] = np.asarray(im)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(decode, range(len(listed))))
        return images, torch.tensor([label for _, label in listed])

    return cache("train"), cache("val"), len(classes)


def warp_matrices(wx, wy):
    """fastai's Warp as [n,3,3] homographies on sampling coordinates: the ones taking its moved corners
    (−1−y, −1−x), (−1+y, 1+x), (1+y, −1+x), (1−y, 1−x) to the corners (±1, ±1), from the 8×8 linear systems."""
    n = wx.shape[0]
    src = torch.stack([torch.stack([-1 - wy, -1 - wx], 1), torch.stack([-1 + wy, 1 + wx], 1),
                       torch.stack([1 + wy, -1 + wx], 1), torch.stack([1 - wy, 1 - wx], 1)], 1)  # [n, 4, 2]
    dst = torch.tensor([[-1., -1.], [-1., 1.], [1., -1.], [1., 1.]]).expand(n, 4, 2)
    sx, sy, dx, dy = src[..., 0], src[..., 1], dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(sx), torch.zeros_like(sx)
    rows = torch.cat([torch.stack([sx, sy, one, zero, zero, zero, -dx * sx, -dx * sy], -1),
                      torch.stack([zero, zero, zero, sx, sy, one, -dy * sx, -dy * sy], -1)], 1)
    h = torch.linalg.solve(rows, torch.cat([dx, dy], 1))
    return torch.cat([h, torch.ones(n, 1)], 1).view(n, 3, 3)


class Batches:
    """The recipe's batch transforms on the uint8 cache, written into reused buffers (a fresh 40 MB tensor per batch
    costs its page faults again whenever glibc hands big blocks back to the OS):
    - train: aug_transforms(size, min_scale=0.5), one draw per image: flip·rotate·zoom, the perspective warp and the
      random-resized crop compose into one projective map, ONE grid_sample; brightness/contrast in logit space;
    - valid: the whole (square) presize image resized to size, as RandomResizedCrop does at validation;
    then Normalize(imagenet_stats), in the model's memory format."""

    def __init__(self, presize, size, batch, memory_format, generator):
        self.presize, self.size, self.g = presize, size, generator
        lin = torch.linspace(-1, 1, size)  # align_corners=True: the corner pixels' centres sit at ±1
        yy, xx = torch.meshgrid(lin, lin, indexing="ij")
        self.points = torch.stack([xx, yy, torch.ones_like(xx)], -1).view(1, size * size, 3)  # output (u, v, 1)
        self.u8 = torch.empty(batch, presize, presize, 3, dtype=torch.uint8)
        self.f32 = torch.empty(batch, presize, presize, 3)
        self.out = torch.empty(batch, 3, size, size).contiguous(memory_format=memory_format)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        self.scale, self.shift = 1 / std, -torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) / std

    def uniform(self, n, lo, hi):
        return torch.empty(n).uniform_(lo, hi, generator=self.g)

    def masked(self, values, p, neutral):  # fastai's _draw_mask: each item keeps its draw with probability p
        return torch.where(torch.rand(values.shape[0], generator=self.g) < p, values, torch.full_like(values, neutral))

    def floats(self, images):  # [n, p, p, 3] uint8 → [n, 3, p, p] float32, channels-last view of the reused buffer
        return self.f32[:images.shape[0]].copy_(images).permute(0, 3, 1, 2)

    def normalize(self, x, scale):  # (x·scale − mean)/std in one pass, into the model's memory format
        return torch.addcmul(self.shift, x, self.scale * scale, out=self.out[:x.shape[0]])

    def matrices(self, n):
        """[n,3,3] maps from output grid coordinates to source ones: warp · flip · rotate · zoom · crop."""
        flip = self.masked(torch.full((n,), -1.), 0.5, 1.)
        wx, wy = self.masked(self.uniform(n, -0.2, 0.2), 0.75, 0.), self.masked(self.uniform(n, -0.2, 0.2), 0.75, 0.)
        theta = self.masked(self.uniform(n, -10, 10), 0.75, 0.) * (math.pi / 180)
        s = 1 / self.masked(self.uniform(n, 1.0, 1.1), 0.75, 1.)
        zx, zy = (1 - s) * self.uniform(n, -1, 1), (1 - s) * self.uniform(n, -1, 1)
        # random-resized crop, aspect 1: side² = U(0.5, 1)·area (always fits, so fastai's retries never trigger)
        side = (self.uniform(n, 0.5, 1.0) * self.presize ** 2).sqrt_().round_()
        left = (torch.rand(n, generator=self.g) * (self.presize - side + 1)).floor_()
        top = (torch.rand(n, generator=self.g) * (self.presize - side + 1)).floor_()
        a = (side - 1) / (self.presize - 1)
        c, sn, zero, one = theta.cos(), theta.sin(), torch.zeros(n), torch.ones(n)
        affine = torch.stack([flip * c * s, flip * sn * s, flip * (c * zx + sn * zy),
                              -sn * s, c * s, c * zy - sn * zx, zero, zero, one], 1).view(n, 3, 3)
        crop = torch.stack([a, zero, 2 * left / (self.presize - 1) + a - 1,
                            zero, a, 2 * top / (self.presize - 1) + a - 1, zero, zero, one], 1).view(n, 3, 3)
        return warp_matrices(wx, wy) @ affine @ crop

    def train(self, cache, idx):
        n = idx.shape[0]
        x = self.floats(torch.index_select(cache, 0, idx, out=self.u8[:n]))
        coords = self.points @ self.matrices(n).transpose(1, 2)  # [n, P, 3], projective
        grid = (coords[..., :2] / coords[..., 2:]).view(n, self.size, self.size, 2)
        x = nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
        # lighting: sigmoid(c·(logit(x) + logit(b))), b ~ U(0.4, 0.6), c = exp(U(ln 0.8, −ln 0.8)); logit clamps at 1e-7
        b = self.masked(self.uniform(n, 0.4, 0.6), 0.75, 0.5)
        c = self.masked(self.uniform(n, math.log(0.8), -math.log(0.8)).exp_(), 0.75, 1.).view(n, 1, 1, 1)
        x = x.mul_(1 / 255).logit_(1e-7).mul_(c).add_(c * torch.logit(b).view(n, 1, 1, 1)).sigmoid_()
        return self.normalize(x, 1.0)

    def valid(self, cache, start, count):
        x = self.floats(cache[start:start + count])
        x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=True)
        return self.normalize(x, 1 / 255)


def one_cycle(pos, start, middle, end, pct=0.25):
    """fastai's fit_one_cycle curve at training progress pos ∈ [0, 1): cosine start → middle over the first pct, then
    middle → end; cosine(a, b, p) = a + (1 + cos(π(1 − p)))·(b − a)/2."""
    a, b, p = (start, middle, pos / pct) if pos < pct else (middle, end, (pos - pct) / (1 - pct))
    return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2


def fastai_adamw(model, wd=0.01):
    """AdamW with fastai's betas/eps, decoupled weight decay (p ← p·(1 − lr·wd)) except on BatchNorm and biases."""
    norm = {id(p) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) for p in m.parameters()}
    decay = [p for name, p in model.named_parameters() if id(p) not in norm and not name.endswith("bias")]
    rest = [p for name, p in model.named_parameters() if id(p) in norm or name.endswith("bias")]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}],
                             betas=(0.95, 0.99), eps=1e-5, foreach=True)


def pick_format(name, size, batch, bf16):
    """The faster memory format for this model, batch and precision, as our trainer's layout tuner decides: 2 warm-up
    and 3 timed steps each, alternating, the fastest timed step of each wins (interference only adds time)."""
    cases = {f: Case(name, size, batch, f == "channels-last", bf16) for f in ("default", "channels-last")}  # + 2 warm-ups
    best = dict.fromkeys(cases, math.inf)
    for _ in range(3):
        for f, case in cases.items():
            best[f] = min(best[f], case.run(1))
    return min(best, key=best.get)


def end_to_end(folder, name, presize, size, batch, epochs, max_lr, memory_format, seed, bf16):
    """`resnet-mlnet train`'s recipe end to end; prints one JSON line after decoding, one per epoch, one at the end."""
    start = time.perf_counter()
    (train_x, train_y), (valid_x, valid_y), n_classes = load_folder(folder, presize, torch.get_num_threads())
    decode_seconds = time.perf_counter() - start
    tuning_start = time.perf_counter()
    if memory_format == "auto":
        memory_format = pick_format(name, size, batch, bf16)
    tuning_seconds = time.perf_counter() - tuning_start
    fmt = torch.channels_last if memory_format == "channels-last" else torch.contiguous_format
    print(json.dumps({"decode_seconds": decode_seconds, "tuning_seconds": tuning_seconds, "format": memory_format,
                      "train_images": len(train_y), "valid_images": len(valid_y)}), flush=True)

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)  # shuffling and augmentation draws
    model = MODELS[name](n_classes).to(memory_format=fmt)
    opt = fastai_adamw(model)
    batches = Batches(presize, size, batch, fmt, g)
    per_epoch = len(train_y) // batch  # drop_last, as fastai's training loader
    total, step, smooth = epochs * per_epoch, 0, 0.0
    for epoch in range(epochs):
        epoch_start = time.perf_counter()
        data = steps = 0.0
        model.train()
        order = torch.randperm(len(train_y), generator=g)
        for b in range(per_epoch):
            t0 = time.perf_counter()
            idx = order[b * batch:(b + 1) * batch]
            x, y = batches.train(train_x, idx), train_y[idx]
            t1 = time.perf_counter()
            pos = step / total
            for group in opt.param_groups:
                group["lr"] = one_cycle(pos, max_lr / 25, max_lr, max_lr / 1e5)
                group["betas"] = (one_cycle(pos, 0.95, 0.85, 0.95), 0.99)
            opt.zero_grad(set_to_none=True)
            with autocast(bf16):
                loss = nn.functional.cross_entropy(model(x), y)
            step += 1
            # train_loss as fastai's table shows it: exponentially smoothed (β 0.98, debiased), never reset
            smooth = 0.98 * smooth + 0.02 * loss.item()
            loss.backward()
            opt.step()
            t2 = time.perf_counter()
            data, steps = data + t1 - t0, steps + t2 - t1
        valid_start = time.perf_counter()
        model.eval()
        loss_sum, correct = 0.0, 0
        with torch.inference_mode(), autocast(bf16):
            for b in range(0, len(valid_y), batch):
                out, y = model(batches.valid(valid_x, b, min(batch, len(valid_y) - b))).float(), valid_y[b:b + batch]
                loss_sum += nn.functional.cross_entropy(out, y, reduction="sum").item()
                correct += (out.argmax(1) == y).sum().item()
        now = time.perf_counter()
        print(json.dumps({"epoch": epoch, "seconds": now - epoch_start, "data_seconds": data, "step_seconds": steps,
                          "valid_seconds": now - valid_start, "train_loss": smooth / (1 - 0.98 ** step),
                          "valid_loss": loss_sum / len(valid_y), "accuracy": correct / len(valid_y)}), flush=True)
    print(json.dumps({"done": True, "total_seconds": time.perf_counter() - start}), flush=True)


def run_line(words, cases):
    if words[0] == "e2e":
        folder, name, presize, size, batch, epochs, max_lr, memory_format, seed = words[1:10]
        precision = words[10] if len(words) > 10 else "fp32"
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, not {precision}")
        end_to_end(folder, name, int(presize), int(size), int(batch), int(epochs), float(max_lr), memory_format, int(seed),
                   precision == "bf16")
        return
    name, size, batch, memory_format, steps = words
    key = (name, int(size), int(batch), memory_format)
    if key not in cases:
        cases[key] = Case(name, int(size), int(batch), memory_format == "channels-last")
    print(json.dumps({"seconds": cases[key].run(int(steps))}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--e2e", nargs="+", metavar="ARG", help="folder Name presize size batch epochs max_lr format seed [precision]")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)  # nothing here runs inter-op parallel work
    except RuntimeError:  # already set or started
        pass
    torch.manual_seed(0)
    cases = {}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in ([" ".join(["e2e"] + a.e2e)] if a.e2e else sys.stdin):
        if line.strip():
            run_line(line.split(), cases)


if __name__ == "__main__":
    main()
