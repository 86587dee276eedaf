"""One ComponentResource per concern of the stack."""

from __future__ import annotations

import pulumi

TYPE_PREFIX = "litellm-observability:index:"


def child_options(component: pulumi.ComponentResource, opts: pulumi.ResourceOptions | None,
                  **extra) -> pulumi.ResourceOptions:
    """Options for a component's child: parented to it and waiting on what it waits on."""
    # The engine orders children after their parent's dependencies only implicitly; stating
    # them on each child makes "the Secret exists before the role reads it" explicit in the
    # graph that preview shows and the tests check.
    depends_on = opts.depends_on if opts is not None else None
    return pulumi.ResourceOptions(parent=component, depends_on=depends_on, **extra)
