"""One ComponentResource per concern of the stack."""

TYPE_PREFIX = "litellm-observability:index:"
