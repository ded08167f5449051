"""Fine-tuning a head on a frozen body, with a layer that is built and never used.

Runs as plain PyTorch (`python examples/fine_tune.py`). Three kinds of parameter end it
without a gradient, and `autograd-cli why` names the line behind each:

    autograd-cli why body.0.weight -f examples/fine_tune.py   # frozen at line 18
    autograd-cli why spare.weight -f examples/fine_tune.py    # never called
    autograd-cli why head.weight -f examples/fine_tune.py     # cleared by zero_grad()
"""

import torch
from torch import nn

torch.manual_seed(0)
body = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
head = nn.Linear(16, 1)
spare = nn.Linear(16, 1)  # built for later, never called
body.requires_grad_(False)
optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
loss_fn = nn.MSELoss()
x = torch.randn(32, 8)
y = torch.randn(32, 1)
loss = loss_fn(head(body(x)), y)
loss.backward()
optimizer.step()
optimizer.zero_grad()
