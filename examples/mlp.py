"""A small MLP, the model the official autograd tutorial draws: one backward pass.

Runs as plain PyTorch (`python examples/mlp.py`); autograd-cli shows its graph module by
module (`autograd-cli graph --by-module -f examples/mlp.py`).
"""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
x = torch.randn(32, 8)  # (batch, features)
y = torch.randn(32, 1)
loss_fn = nn.MSELoss()
loss = loss_fn(model(x), y)
loss.backward()
print(loss)
