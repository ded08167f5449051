"""A training loop with a bug: it never calls `optimizer.zero_grad()`.

Each `backward()` adds its gradient to what `.grad` already holds, so every step uses the
sum of all gradients so far and the loss stops going down. Add `optimizer.zero_grad()`
before `loss.backward()` to fix it.
"""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
loss_fn = nn.MSELoss()
x = torch.randn(64, 4)
y = x @ torch.ones(4, 1)  # the target: the sum of the features

for step in range(30):
    loss = loss_fn(model(x), y)
    loss.backward()  # the bug: gradients add up, step after step
    optimizer.step()
    print(step, loss.item())
