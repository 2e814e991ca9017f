"""Writes what TorchVisionWeightsTests compares against, with Debian's python3-torch and python3-torchvision.

Usage: torchvision_weights.py OUT_DIR DEPTH
OUT_DIR gets: weights.pth (torch.save of the state dict), weights.safetensors (written here: Debian 12 has no
python3-safetensors; the format is an 8-byte little-endian header length, a JSON header, raw little-endian data),
input.f32 / labels.i64 (a fixed batch), logits.f32 (eval mode), stepped.f32 (eval-mode logits after one SGD step
in train mode on the batch, lr 0.01).
"""
import json
import struct
import sys

import torch
import torchvision

out, depth = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
model = getattr(torchvision.models, f"resnet{depth}")(weights=None, num_classes=7)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c) * 0.1)
            m.running_var.copy_(torch.rand(c) * 0.5 + 0.75)
            m.weight.copy_(torch.rand(c) * 0.4 + 0.3)
            m.bias.copy_(torch.randn(c) * 0.1)
state = model.state_dict()
torch.save(state, f"{out}/weights.pth")

dtypes = {torch.float32: "F32", torch.int64: "I64"}
header, blobs, offset = {}, [], 0
for name, tensor in state.items():
    data = tensor.contiguous().numpy().tobytes()
    header[name] = {"dtype": dtypes[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
encoded = json.dumps(header).encode()
encoded += b" " * (-len(encoded) % 8)
with open(f"{out}/weights.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(encoded)))
    f.write(encoded)
    for blob in blobs:
        f.write(blob)

x = torch.randn(4, 3, 64, 64)
y = torch.tensor([0, 3, 6, 2])
x.numpy().tofile(f"{out}/input.f32")
y.numpy().tofile(f"{out}/labels.i64")
model.eval()
with torch.no_grad():
    model(x).numpy().tofile(f"{out}/logits.f32")
model.train()
loss = torch.nn.functional.cross_entropy(model(x), y)
loss.backward()
with torch.no_grad():
    for p in model.parameters():
        p -= 0.01 * p.grad
model.eval()
with torch.no_grad():
    model(x).numpy().tofile(f"{out}/stepped.f32")
