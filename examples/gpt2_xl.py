"""A GPT-2-XL-sized transformer encoder: 48 layers of width 1600, about 1.5 billion
parameters. Meant for `--device meta`, which builds it without allocating anything:

    autograd-cli graph -f examples/gpt2_xl.py --by-module --device meta

(Run on the CPU, it needs about 6 GB for the weights alone.)
"""

import torch
from torch import nn

layer = nn.TransformerEncoderLayer(
    d_model=1600, nhead=25, dim_feedforward=6400, dropout=0.0, batch_first=True
)
model = nn.TransformerEncoder(layer, num_layers=48, enable_nested_tensor=False)
x = torch.randn(1, 1024, 1600)  # (batch, tokens, width)
loss = model(x).sum()
