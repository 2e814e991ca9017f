#!/usr/bin/env python3
"""Reference training-step timings in PyTorch for the chapter's models.

Not a dependency of the library: the benchmark runner starts it (when Debian's python3-torch is installed,
`apt-get install python3-torch`) and alternates runs of it with runs of TorchSharp's step for the same model, batch,
image size, optimiser and thread count, so both sides see the same machine state. Protocol: after one JSON line
with the torch version, every stdin line `Name size batch format steps` (format `default` or `channels-last`,
PyTorch's recommended CPU setting for convolutions) builds that case once (with two warm-up steps), runs `steps`
training steps and prints `{"seconds": ...}`.

Usage: echo "SimpleCnn 128 128 default 5" | python3 pytorch_reference.py --threads 2
"""
import argparse
import json
import sys
import time

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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cases = {}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        name, size, batch, memory_format, steps = line.split()
        key = (name, int(size), int(batch), memory_format)
        if key not in cases:
            cases[key] = Case(name, int(size), int(batch), memory_format == "channels-last")
        print(json.dumps({"seconds": cases[key].run(int(steps))}), flush=True)


if __name__ == "__main__":
    main()
