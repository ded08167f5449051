"""A small CNN with batch normalisation, classifying random 12x12 images into 4 classes."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size=3, stride=2),  # (B, 8, 5, 5)
    nn.BatchNorm2d(8),
    nn.ReLU(),
    nn.Conv2d(8, 16, kernel_size=3),  # (B, 16, 3, 3)
    nn.ReLU(),
    nn.Flatten(),  # (B, 144)
    nn.Linear(144, 4),
)
images = torch.randn(6, 1, 12, 12)  # (B, C, H, W)
labels = torch.tensor([0, 1, 2, 3, 0, 1])
loss_fn = nn.CrossEntropyLoss()
loss = loss_fn(model(images), labels)
loss.backward()
print(loss)
