"""Reading YAML that a user or a stranger wrote, with bounds.

``yaml.safe_load`` constructs no objects, but it expands aliases: a few hundred bytes of
nested ``&a [*b, *b, ...]`` anchors (a "billion laughs" file) stand for billions of values
and take minutes and gigabytes to build, or to print in an error message. This module
composes the node tree first (which shares each aliased node, so it stays as small as the
file), counts the values the document would expand to, and refuses it past a bound before
anything is built.
"""

from __future__ import annotations

import yaml

MAX_VALUES = 100_000  # far above any layer spec or run config (a few hundred values)


class YamlTooLarge(ValueError):
    """The document would expand (through aliases) to more than ``MAX_VALUES`` values."""


def expanded_size(node: yaml.Node | None, limit: int = MAX_VALUES) -> int:
    """How many scalar, sequence and mapping values ``node`` stands for once every alias is
    expanded; stops counting (returns a number past ``limit``) as soon as it exceeds it."""
    sizes: dict[int, int] = {}

    def size(item: yaml.Node) -> int:
        known = sizes.get(id(item))
        if known is not None:
            return known
        total = 1
        if isinstance(item, yaml.SequenceNode):
            for child in item.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(item, yaml.MappingNode):
            for key, value in item.value:
                total += size(key) + size(value)
                if total > limit:
                    break
        sizes[id(item)] = total
        return total

    return 0 if node is None else size(node)


def compose_bounded(loader: yaml.SafeLoader) -> yaml.Node | None:
    """The document's node tree from a ``yaml.SafeLoader``, refused with
    :class:`YamlTooLarge` when its aliases would expand it past ``MAX_VALUES`` values."""
    node = loader.get_single_node()
    if expanded_size(node) > MAX_VALUES:
        raise YamlTooLarge(f"it expands to more than {MAX_VALUES:,} values through its "
                           f"aliases (&anchor / *alias)")
    return node


def load_bounded(text: str):
    """``yaml.safe_load(text)`` with the alias bound of :func:`compose_bounded`."""
    loader = yaml.SafeLoader(text)
    try:
        node = compose_bounded(loader)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
