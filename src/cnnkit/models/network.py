"""The torch module behind a model: the nodes of its layer graph, run in order.

A node is one call of a layer (models/graph.py): its op, then its activation, on the
outputs of earlier nodes. A ``Sequential`` model's graph is a line; a functional model's
may branch and merge. Image tensors are NCHW in channels_last memory format throughout.
When the output layer's ``softmax``/``sigmoid`` is fused into the loss, the network
outputs logits and ``output_activation`` turns them into probabilities for ``predict()``.

Which nodes run fused, on hand-written kernels or as op-pool-ReLU, is decided in
``kernels/plan.py``; without ``kernels/``, replace the ``plan`` import below by
``def plan(net, steps): return steps`` and every node runs as its op and activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import activations
from ..errors import LayerError
from ..kernels.plan import plan
from .graph import INPUT, Graph


@dataclass(frozen=True)
class NodeStep:
    """Node ``output``: layer ``name``'s op, then its activation, on the node ``inputs``."""

    name: str
    inputs: tuple[int, ...]
    output: int
    kernel: bool = False

    def __call__(self, net: nn.Module, *xs: torch.Tensor) -> torch.Tensor:
        """act(op(*xs))."""
        return net.acts[self.name](net.ops[self.name](*xs))


class Network(nn.Module):
    """Runs a layer graph. ``state_dict`` keys read ``ops.<layer name>.<param>`` (e.g.
    ``ops.conv2d.weight``); a layer called at several nodes has one module (shared
    weights, as in Keras).

    ``names`` and ``shapes`` list the layers in the model's order with the output shape
    of each one's first call; ``output_shape`` is the network's.
    """

    def __init__(self, graph: Graph, input_shape: tuple[int, ...], fuse_output: bool):
        super().__init__()
        self.ops = nn.ModuleDict()
        self.acts = nn.ModuleDict()
        self.nodes = graph.nodes
        self.output = graph.output
        self.is_line = graph.is_line
        node_shapes: list[tuple[int, ...]] = []
        self.node_inputs: list[list[tuple[int, ...]]] = []  # input shapes of each node
        for node in graph.nodes:
            layer = node.layer
            shapes = [tuple(input_shape) if i == INPUT else node_shapes[i] for i in node.inputs]
            arg = shapes if getattr(layer, "takes_many_inputs", False) else shapes[0]
            module = layer.module_for(arg)
            if layer.name in self.ops and self.ops[layer.name] is not module:
                raise LayerError(f"layer {layer.name!r} is called on inputs of shapes "
                                 f"{shapes} after others: a shared layer needs one shape",
                                 hint="use a new layer for the other input shape")
            self.ops[layer.name] = module
            self.acts[layer.name] = activations.get(layer.activation)
            node_shapes.append(tuple(layer.compute_output_shape(arg)))
            self.node_inputs.append(shapes)
        first = {}
        for node, shape in zip(graph.nodes, node_shapes, strict=True):
            first.setdefault(node.layer.name, shape)
        self.names = [layer.name for layer in graph.layers]
        self.shapes = [first[name] for name in self.names]
        self.output_shape = node_shapes[graph.output]
        self.fuse_output(fuse_output)
        plain = [NodeStep(node.layer.name, node.inputs, pos)
                 for pos, node in enumerate(graph.nodes)]
        self.steps = plan(self, plain)
        self.to(memory_format=torch.channels_last)

    def fuse_output(self, fused: bool) -> None:
        """Output logits, leaving the output layer's activation to ``output_activation``
        (when ``fused``: the loss takes logits), or the declared output. A layer also
        called inside the graph keeps its activation."""
        layer = self.nodes[self.output].layer
        fused = fused and sum(node.layer is layer for node in self.nodes) == 1
        self.acts[layer.name] = activations.get(None if fused else layer.activation)
        self.output_activation = activations.get(layer.activation if fused else None)

    def layer_inputs(self) -> list[tuple]:
        """``(layer, input shape)`` of each node (the first input's shape)."""
        return [(node.layer, shapes[0]) for node, shapes in
                zip(self.nodes, self.node_inputs, strict=True)]

    def path_to(self, name: str) -> list[int]:
        """The node positions from the input to layer ``name``'s first call, following
        each node's first input."""
        pos = next(i for i, node in enumerate(self.nodes) if node.layer.name == name)
        path = [pos]
        while self.nodes[path[-1]].inputs[0] != INPUT:
            path.append(self.nodes[path[-1]].inputs[0])
        return path[::-1]

    @property
    def pool_first(self) -> dict[str, str]:
        """``{layer: max pooling layer}`` for the ReLU layers run as op, pool, ReLU."""
        return {s.name: s.pool for s in self.steps if getattr(s, "pool", None)}

    @property
    def fused(self) -> set[str]:
        """Layers run with their pooling on a hand-written kernel."""
        return {s.name for s in self.steps if s.kernel and getattr(s, "pool", None)}

    @property
    def fused_relu(self) -> set[str]:
        """ReLU layers run unpooled on a hand-written kernel."""
        return {s.name for s in self.steps if s.kernel and not getattr(s, "pool", None)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (or the declared output when nothing is fused)."""
        if self.is_line:
            for step in self.steps:
                x = step(self, x)
            return x
        values: list[torch.Tensor | None] = [None] * len(self.nodes)
        for step in self.steps:
            values[step.output] = step(self, *[x if i == INPUT else values[i]
                                               for i in step.inputs])
        return values[self.output]

    def features(self, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
        """The outputs of the named layers (their first call, after their activation) for
        one forward pass, computed node by node."""
        return self._node_by_node(x, wanted, logits=False)[1]

    def logits_and_features(self, x: torch.Tensor, wanted: set[str]
                            ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The output node's op output (before any activation: the class scores) and
        :meth:`features`, from one pass node by node (for Grad-CAM)."""
        return self._node_by_node(x, wanted, logits=True)

    def _node_by_node(self, x: torch.Tensor, wanted: set[str], logits: bool
                      ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        found: dict[str, torch.Tensor] = {}
        values: list[torch.Tensor | None] = [None] * len(self.nodes)
        for pos, node in enumerate(self.nodes):
            name = node.layer.name
            inputs = [x if i == INPUT else values[i] for i in node.inputs]
            if logits and pos == self.output:
                return self.ops[name](*inputs), found
            values[pos] = NodeStep(name, node.inputs, pos)(self, *inputs)
            if name in wanted and name not in found:
                found[name] = values[pos]
            if not logits and len(found) == len(wanted):
                break
        return None, found
