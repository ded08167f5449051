"""Plain records that the inspection layer fills and the renderers read: the contract.

They hold only Python values (numbers, strings, nested lists), never tensors, so the
renderers stay free of torch and the JSON schema follows directly from their fields.
One module per domain, and each name lives in exactly one of them (this package
re-exports nothing): `tensors` (values, summaries, `TensorRecord`), `source`, `grads`,
`graph`, `backward`, `why`, `batch`, `failures`, `modules`, `reports`, `timeline`, and
`schema` (the documents' name and version).
"""
