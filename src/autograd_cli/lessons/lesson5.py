import torch

## input tensor
x = torch.ones(5)
## expected output
y = torch.zeros(3)
w = torch.randn(5,3,requires_grad=True)
b = torch.randn(3,requires_grad=True)
z = torch.matmul(x,w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z,y)

print("z = "+str(z.grad_fn))
print("loss = "+str(loss.grad_fn))

loss.backward()
print(w.grad)
print(b.grad)

z = torch.matmul(x,w) + b
print(z.requires_grad)

with torch.no_grad():
    z = torch.matmul(x,w) + b
print(z.requires_grad)

z = torch.matmul(x,w) + b
z_det = z.detach()
print(z_det.requires_grad)

inp = torch.eye(5,requires_grad=True)
out = (inp+1).pow(2)
out.backward(torch.ones_like(inp),retain_graph=True)
print("First Call\n"+str(inp.grad))
out.backward(torch.ones_like(inp),retain_graph=True)
print("\nSecond Call\n"+str(inp.grad))
inp.grad.zero_()
out.backward(torch.ones_like(inp),retain_graph=True)
print("\nCall after zeroing gradients\n"+str(inp.grad))
