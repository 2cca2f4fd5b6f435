"""A functional model's config: its layers and how their calls connect, as JSON data.

In the form of Keras's functional configs: each entry of ``layers`` is a layer's
``{"class_name", "config"}`` with its ``name`` and ``inbound_nodes``, one list per call of
the layer, naming the tensors the call took as ``[layer name, node index, 0]`` (node
indices count the calls within this model); ``input_layers`` and ``output_layers`` name
the model's input and output tensors the same way. Loading replays the calls.
"""

from __future__ import annotations

from typing import Any

from .. import layers as layer_lib
from ..errors import LayerError
from .graph import INPUT


def graph_config(model) -> dict[str, Any]:
    """Name, trainable flag, layers with their inbound nodes, input and output layers."""
    graph = model.graph()
    local: list[int] = []  # each node's index among its layer's calls in this graph
    counts: dict[str, int] = {}
    for node in graph.nodes:
        local.append(counts.get(node.layer.name, 0))
        counts[node.layer.name] = local[-1] + 1

    def ref(pos: int) -> list:
        return [graph.nodes[pos].layer.name, local[pos], 0]

    entries = []
    for layer in graph.layers:
        calls = [[ref(i) for i in node.inputs if i != INPUT]
                 for node in graph.nodes if node.layer is layer]
        entries.append({**layer_lib.serialize(layer), "name": layer.name,
                        "inbound_nodes": [] if isinstance(layer, layer_lib.Input) else calls})
    first = next(pos for pos, node in enumerate(graph.nodes) if INPUT in node.inputs)
    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": [ref(first)], "output_layers": [ref(graph.output)]}


def graph_from_config(config: dict[str, Any]) -> tuple:
    """``(inputs, outputs)`` symbolic tensors of a new graph of fresh layers, from
    :func:`graph_config` output."""
    try:
        entries = list(config["layers"])
        (in_ref,), (out_ref,) = config["input_layers"], config["output_layers"]
    except (KeyError, TypeError, ValueError) as exc:
        raise LayerError(f"a functional model config needs layers, input_layers and "
                         f"output_layers ({exc})") from exc
    layers = {entry["name"]: layer_lib.deserialize(entry) for entry in entries}
    tensors: dict[tuple[str, int], Any] = {
        (name, 0): layer.output for name, layer in layers.items()
        if isinstance(layer, layer_lib.Input)}
    pending = [(entry["name"], k, calls) for entry in entries
               for k, calls in enumerate(entry.get("inbound_nodes") or [])]
    while pending:
        waiting = []
        for name, k, calls in pending:
            keys = [(ref[0], ref[1]) for ref in calls]
            if all(key in tensors for key in keys):
                args = [tensors[key] for key in keys]
                layer = layers[name]
                tensors[(name, k)] = layer(args if layer.takes_many_inputs else args[0])
            else:
                waiting.append((name, k, calls))
        if len(waiting) == len(pending):
            raise LayerError("the functional model config has calls whose inputs never "
                             "appear: " + ", ".join(f"{n}[{k}]" for n, k, _ in waiting))
        pending = waiting
    return tensors[(in_ref[0], in_ref[1])], tensors[(out_ref[0], out_ref[1])]
