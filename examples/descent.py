"""Gradient descent on one weight, with a helper `def`: run it with `--trust`.

The loop runs 100 times; `autograd-cli step --trust` shows its first two iterations, one
line for the 97 in between, and the last.
"""

import torch


def loss_of(w):
    return (3 * w - 6) ** 2


w = torch.tensor(0.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.02)
for step in range(100):
    opt.zero_grad()
    loss = loss_of(w)
    loss.backward()
    opt.step()
    if step % 50 == 0:
        print(f"step {step}: loss {loss.item():.4f}")
print(f"w = {w.item():.4f}")
