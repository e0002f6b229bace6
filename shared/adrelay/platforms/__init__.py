"""Platform clients and adapters. `base.py` is the contract between the engine and an adapter;
`errors.py` the one error taxonomy; `http.py` the shared client plumbing."""
