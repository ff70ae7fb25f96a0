"""Training and evaluation of vocwatch's sentiment models (needs ../shared/datasets; sklearn at training time only)."""
