"""A transformer encoder: four alike blocks of self-attention and feed-forward layers.

The module view folds the four blocks into one row (`layers.0-3  TransformerEncoderLayer
x4`). Run it with `--device meta` at GPT-2-XL's size (width 1600, 25 heads, feed-forward
6400, 48 layers) to see the graph and the memory it would take, without allocating it.
"""

import torch
from torch import nn

torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(
    d_model=32, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True
)
model = nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False)
x = torch.randn(2, 10, 32)  # (batch, tokens, width)
target = torch.randn(2, 10, 32)
loss_fn = nn.MSELoss()
loss = loss_fn(model(x), target)
loss.backward()
