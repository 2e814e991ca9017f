#!/usr/bin/env python3
"""Reference timings in PyTorch for the chapter's models: the raw training step, and the CLI's recipe end to end.

Not a dependency of the library: the benchmark runner starts it (when Debian's python3-torch and python3-pil are
installed, `apt-get install python3-torch python3-pil`) and alternates runs of it with our runs of the same work, so
both sides see the same machine state. Protocol: after one JSON line with the torch version, every stdin line is one of
- `Name size batch format steps` (format `default` or `channels-last`, PyTorch's recommended CPU setting for
  convolutions): builds that case once (with two warm-up steps), runs `steps` training steps, prints `{"seconds": ...}`;
- `e2e folder Name presize size batch epochs max_lr format seed` (format `default`, `channels-last` or `auto`: the
  faster of the two in a timed trial): `resnet-mlnet train`'s recipe on an image folder (train/ and val/ subfolders)
  in plain PyTorch — decode once into a uint8 cache (Resize(presize) centre crop), per-batch aug_transforms(size,
  min_scale=0.5) as one grid_sample plus logit-space lighting, Normalize(imagenet), fit_one_cycle with AdamW, a
  validation pass every epoch. Prints `{"decode_seconds", "tuning_seconds", "format", "train_images",
  "valid_images"}`, then one line per epoch `{"epoch", "seconds", "data_seconds", "step_seconds", "valid_seconds",
  "train_loss", "valid_loss", "accuracy"}`, then `{"done": true, "total_seconds"}`.

Usage: echo "SimpleCnn 128 128 default 5" | python3 pytorch_reference.py --threads 2
       python3 pytorch_reference.py --threads 2 --e2e <folder> SimpleCnn 160 128 128 3 3e-3 auto 42
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
    """One model, batch and memory format, built once and warmed up; run() times a number of training steps."""

    def __init__(self, name, size, batch, channels_last):
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
        loss = nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.item()
        loss.backward()
        self.opt.step()

    def run(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - start


IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load_folder(root, presize, threads):
    """Every image of root/train and root/val decoded once: Resize(presize) = shorter side to presize, centre crop."""
    from PIL import Image

    classes = sorted(os.listdir(os.path.join(root, "train")))

    def items(split):
        return [(os.path.join(root, split, c, f), i) for i, c in enumerate(classes)
                for f in sorted(os.listdir(os.path.join(root, split, c)))]

    def decode(path):
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            scale = presize / min(w, h)
            im = im.resize((max(presize, round(w * scale)), max(presize, round(h * scale))), Image.BILINEAR)
            left, top = (im.size[0] - presize) // 2, (im.size[1] - presize) // 2
            im = im.crop((left, top, left + presize, top + presize))
            return torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(presize, presize, 3).permute(2, 0, 1)

    def cache(split):
        listed = items(split)
        with ThreadPoolExecutor(threads) as pool:
            images = list(pool.map(decode, [p for p, _ in listed]))
        return torch.stack(images), torch.tensor([label for _, label in listed])

    return cache("train"), cache("val"), len(classes)


def warp_matrix(wx, wy):
    """Per-item perspective matrices [n,3,3] mapping the unit square's corners to fastai's warped corners."""
    n = wx.shape[0]
    src = torch.tensor([[-1., -1.], [-1., 1.], [1., -1.], [1., 1.]]).expand(n, 4, 2)
    dst = torch.stack([torch.stack([-1 - wy, -1 - wx], 1), torch.stack([-1 + wy, 1 + wx], 1),
                       torch.stack([1 + wy, -1 + wx], 1), torch.stack([1 - wy, 1 - wx], 1)], 1)
    sx, sy, tx, ty = src[..., 0], src[..., 1], dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(sx), torch.zeros_like(sx)
    rows = torch.cat([torch.stack([sx, sy, one, zero, zero, zero, -tx * sx, -tx * sy], -1),
                      torch.stack([zero, zero, zero, sx, sy, one, -ty * sx, -ty * sy], -1)], 1)
    h = torch.linalg.solve(rows, torch.cat([tx, ty], 1))
    return torch.cat([h, torch.ones(n, 1)], 1).view(n, 3, 3)


class Augmenter:
    """aug_transforms(size, min_scale=0.5) on a uint8 batch: one projective grid per item, one grid_sample, lighting."""

    def __init__(self, presize, size, generator):
        self.presize, self.size, self.g = presize, size, generator
        lin = torch.linspace(-1, 1, size)
        yy, xx = torch.meshgrid(lin, lin, indexing="ij")
        self.base = torch.stack([xx.flatten(), yy.flatten(), torch.ones(size * size)])  # [3, P]

    def uniform(self, n, lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=self.g)

    def happens(self, n, p):
        return torch.rand(n, generator=self.g) < p

    def crop(self, n):
        """fastai's random-resized-crop at aspect ratio 1 (min_scale 0.5) as [n,3,3] output → source matrices."""
        side = torch.sqrt(self.uniform(n, 0.5, 1.0) * self.presize ** 2).round().clamp(1, self.presize)
        left = (torch.rand(n, generator=self.g) * (self.presize - side + 1)).floor()
        top = (torch.rand(n, generator=self.g) * (self.presize - side + 1)).floor()
        a = (side - 1) / (self.presize - 1)
        m = torch.zeros(n, 3, 3)
        m[:, 0, 0], m[:, 0, 2] = a, 2 * left / (self.presize - 1) + a - 1
        m[:, 1, 1], m[:, 1, 2] = a, 2 * top / (self.presize - 1) + a - 1
        m[:, 2, 2] = 1
        return m

    def __call__(self, images):
        n = images.shape[0]
        flip = torch.where(self.happens(n, 0.5), -1.0, 1.0)
        angle = torch.where(self.happens(n, 0.75), self.uniform(n, -10, 10), torch.zeros(n)) * math.pi / 180
        zoom = torch.where(self.happens(n, 0.75), 1 / self.uniform(n, 1.0, 1.1), torch.ones(n))
        zx, zy = (1 - zoom) * self.uniform(n, -1, 1), (1 - zoom) * self.uniform(n, -1, 1)
        warped = self.happens(n, 0.75)
        wx = torch.where(warped, self.uniform(n, -0.2, 0.2), torch.zeros(n))
        wy = torch.where(warped, self.uniform(n, -0.2, 0.2), torch.zeros(n))
        c, s = torch.cos(angle), torch.sin(angle)
        affine = torch.zeros(n, 3, 3)
        affine[:, 0, 0], affine[:, 0, 1], affine[:, 0, 2] = flip * c * zoom, flip * s * zoom, flip * (c * zx + s * zy)
        affine[:, 1, 0], affine[:, 1, 1], affine[:, 1, 2] = -s * zoom, c * zoom, -s * zx + c * zy
        affine[:, 2, 2] = 1
        coords = warp_matrix(wx, wy) @ affine @ self.crop(n) @ self.base  # [n, 3, P]
        grid = (coords[:, :2] / coords[:, 2:]).transpose(1, 2).reshape(n, self.size, self.size, 2)
        x = nn.functional.grid_sample(images.float(), grid, mode="bilinear", padding_mode="reflection", align_corners=True)
        x = x.mul_(1 / 255)
        brightness = torch.where(self.happens(n, 0.75), self.uniform(n, 0.4, 0.6), torch.full((n,), 0.5))
        contrast = torch.where(self.happens(n, 0.75), torch.exp(self.uniform(n, math.log(0.8), -math.log(0.8))), torch.ones(n))
        shift = (contrast * torch.logit(brightness)).view(n, 1, 1, 1)
        x = torch.sigmoid(torch.logit(x, 1e-7).mul_(contrast.view(n, 1, 1, 1)).add_(shift))
        return normalize(x)


def normalize(x):
    return (x - IMAGENET_MEAN) / IMAGENET_STD


def centre(images, size):
    """The validation transform: the centre square resized to size (bilinear, align_corners like training)."""
    return normalize(nn.functional.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=True) / 255)


def time_format(name, size, batch, channels_last, steps=3):
    case = Case(name, size, batch, channels_last)
    return case.run(steps) / steps


def end_to_end(folder, name, presize, size, batch, epochs, max_lr, memory_format, seed):
    start = time.perf_counter()
    (train_x, train_y), (valid_x, valid_y), n_classes = load_folder(folder, presize, torch.get_num_threads())
    decode_seconds = time.perf_counter() - start
    tuning_start = time.perf_counter()
    if memory_format == "auto":
        times = {f: time_format(name, size, batch, f == "channels-last") for f in ("default", "channels-last")}
        memory_format = min(times, key=times.get)
    tuning_seconds = time.perf_counter() - tuning_start
    channels_last = memory_format == "channels-last"
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    print(json.dumps({"decode_seconds": decode_seconds, "tuning_seconds": tuning_seconds, "format": memory_format,
                      "train_images": len(train_y), "valid_images": len(valid_y)}), flush=True)

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = MODELS[name](n_classes).to(memory_format=fmt)
    batches = len(train_y) // batch  # drop_last, as fastai's training loader
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, betas=(0.95, 0.99), eps=1e-5, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr, total_steps=epochs * batches, pct_start=0.25, div_factor=25,
                                                final_div_factor=1e5, anneal_strategy="cos", base_momentum=0.85, max_momentum=0.95)
    augment = Augmenter(presize, size, g)
    for epoch in range(epochs):
        epoch_start = time.perf_counter()
        data = steps = 0.0
        losses = []
        model.train()
        order = torch.randperm(len(train_y), generator=g)
        for b in range(batches):
            t0 = time.perf_counter()
            idx = order[b * batch:(b + 1) * batch]
            x = augment(train_x[idx]).contiguous(memory_format=fmt)
            y = train_y[idx]
            t1 = time.perf_counter()
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            losses.append(loss.item())  # plain mean of the epoch's losses
            loss.backward()
            opt.step()
            sched.step()
            t2 = time.perf_counter()
            data, steps = data + t1 - t0, steps + t2 - t1
        valid_start = time.perf_counter()
        model.eval()
        total_loss, correct = 0.0, 0
        with torch.inference_mode():
            for b in range(0, len(valid_y), batch):
                out = model(centre(valid_x[b:b + batch], size).contiguous(memory_format=fmt))
                total_loss += nn.functional.cross_entropy(out, valid_y[b:b + batch], reduction="sum").item()
                correct += (out.argmax(1) == valid_y[b:b + batch]).sum().item()
        now = time.perf_counter()
        print(json.dumps({"epoch": epoch, "seconds": now - epoch_start, "data_seconds": data, "step_seconds": steps,
                          "valid_seconds": now - valid_start, "train_loss": sum(losses) / len(losses),
                          "valid_loss": total_loss / len(valid_y), "accuracy": correct / len(valid_y)}), flush=True)
    print(json.dumps({"done": True, "total_seconds": time.perf_counter() - start}), flush=True)


def run_line(words, cases):
    if words[0] == "e2e":
        folder, name, presize, size, batch, epochs, max_lr, memory_format, seed = words[1:]
        end_to_end(folder, name, int(presize), int(size), int(batch), int(epochs), float(max_lr), memory_format, int(seed))
        return
    name, size, batch, memory_format, steps = words
    key = (name, int(size), int(batch), memory_format)
    if key not in cases:
        cases[key] = Case(name, int(size), int(batch), memory_format == "channels-last")
    print(json.dumps({"seconds": cases[key].run(int(steps))}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--e2e", nargs=9, metavar="ARG", help="folder Name presize size batch epochs max_lr format seed")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cases = {}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in ([" ".join(["e2e"] + a.e2e)] if a.e2e else sys.stdin):
        run_line(line.split(), cases)


if __name__ == "__main__":
    main()
