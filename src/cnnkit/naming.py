"""Suggest the closest valid name when the user misspells one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from .errors import ConfigError


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` did you mean 'relu'?`` for the closest valid name, or the list of valid names."""
    valid = sorted(set(valid))
    close = difflib.get_close_matches(str(name).lower(), [v.lower() for v in valid], n=1,
                                      cutoff=0.5)
    if close:
        match = next(v for v in valid if v.lower() == close[0])
        return f"did you mean {match!r}? (valid: {', '.join(valid)})"
    return f"valid names: {', '.join(valid)}"


def reject_unknown_keywords(where: str, given: Mapping[str, object],
                            valid: Iterable[str]) -> None:
    """Raise a ConfigError for the first keyword in ``given`` that is not ``valid``, with the
    closest valid name: ``fit(batchsize=64)`` must not silently train at batch 32."""
    valid = list(valid)
    for key in given:
        if key not in valid:
            raise ConfigError(f"{where} got an unknown argument {key!r}",
                              hint=did_you_mean(key, valid))


def refuse_unsupported(where: str, **values: tuple[object, object]) -> None:
    """Raise a ConfigError for a Keras argument given a value cnnkit cannot honour:
    ``values`` maps each argument to ``(given, default)``; only the default is honoured."""
    for key, (given, default) in values.items():
        if given != default:
            raise ConfigError(f"{where}: {key}={given!r} is not supported by cnnkit",
                              hint=f"leave {key} at its default ({default!r}); "
                                   "see docs/models.md for the Keras arguments cnnkit takes")


def parameter_names(function) -> list[str]:
    """The named parameters of ``function`` (not ``self``, ``*args`` or ``**kwargs``)."""
    import inspect

    return [p.name for p in inspect.signature(function).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]
