"""Plain functions that return the Kubernetes objects and files the stack applies."""
