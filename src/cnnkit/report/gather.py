"""Everything the report shows, gathered from a run directory: its files, its best model,
its data (loaded as the run loaded it), the evaluation, the leakage check and the diagnosis.

Missing pieces are not errors: each is left as None with a note that says why, and the page
shows that note in the sections it empties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..data import ImageDataset
from ..data.inspect import inspect
from ..diagnosis import diagnose
from ..errors import CnnkitError
from ..evaluation import evaluate_model
from ..train.run_data import RunData, load_run_data
from .runfiles import RunFiles, load_best_model, read_run

LEAKAGE_CHECK_BYTES = 1 << 30  # hash the images for leakage only when they are at most 1 GiB


@dataclass
class ReportData:
    """What the report is made of.

    ``data`` is the run's :class:`~cnnkit.train.run_data.RunData` (train, val, test) decoded to
    the model's input size. ``evaluation`` is in ``Evaluation.to_dict()`` form;
    ``evaluated`` is the dataset its worst examples' indices point into, ``evaluated_split``
    its name (``test`` or ``validation``) and ``evaluation_source`` says which model was
    evaluated on it. ``inspection`` is
    :func:`cnnkit.data.inspect.inspect` of the splits when they are small enough to hash.
    ``notes`` maps a missing piece (``history``, ``metrics``, ``model``, ``data``,
    ``evaluation``, ``leakage``) to the reason.
    """

    files: RunFiles
    model: object | None = None
    model_source: str = ""
    data: RunData | None = None
    evaluation: dict | None = None
    evaluated: ImageDataset | None = None
    evaluated_split: str = ""
    evaluation_source: str = ""
    inspection: dict | None = None
    findings: list = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)


def gather(directory: Path, data=None, progress: bool = True) -> ReportData:
    """Read and compute everything for the report of the run in ``directory``.

    ``data`` is the run's RunData when the caller has it (the end of ``cnnkit train``);
    otherwise the data is loaded again with the run's config. ``progress`` shows progress
    bars on a terminal while data loads and the model is evaluated.
    """
    files = read_run(Path(directory))
    report = ReportData(files, notes=dict(files.notes))
    report.model, source = load_best_model(files.directory)
    if report.model is None:
        report.notes["model"] = source
    else:
        report.model_source = source
    report.data = data if data is not None else _load_data(report, progress)
    _evaluate(report, progress)
    report.inspection = _inspect(report)
    report.findings = _diagnose(report)
    return report


def _load_data(report: ReportData, progress: bool):
    """The run's splits, at the model's input size and channels (the config's size when
    there is no model)."""
    size, channels = None, None
    if report.model is not None:
        size, channels = report.model.input_shape[1:3], report.model.input_shape[3]
    try:
        return load_run_data(report.files.config, image_size=size, channels=channels,
                             quiet=not progress)
    except (CnnkitError, OSError) as exc:
        report.notes["data"] = f"the data could not be loaded: {_message(exc)}"
        return None


def _evaluate(report: ReportData, progress: bool) -> None:
    """metrics.json when the run wrote it; else model/best on the test split, or on the
    validation split when there is no test split."""
    data = report.data
    if report.files.metrics is not None:
        report.evaluation = report.files.metrics
        report.evaluated = data.test if data is not None else None
        report.evaluated_split = "test"
        report.evaluation_source = "the final model on the test split (metrics.json)"
        return
    if report.model is None or data is None:
        missing = report.notes.get("model") or report.notes["data"]
        report.notes["evaluation"] = f"{report.notes['metrics']}; nothing to evaluate: {missing}"
        return
    split, dataset = next(((name, d) for name, d in (("test", data.test),
                                                     ("validation", data.val))
                           if d is not None and len(d)), (None, None))
    if dataset is None:
        report.notes["evaluation"] = "the run has neither a test nor a validation split"
        return
    try:
        report.evaluation = evaluate_model(report.model, dataset, progress=progress).to_dict()
    except CnnkitError as exc:
        report.notes["evaluation"] = (f"{report.model_source} could not be evaluated: "
                                      f"{exc.message}")
        return
    report.evaluated, report.evaluated_split = dataset, split
    report.evaluation_source = f"{report.model_source} on the {split} split"


def _inspect(report: ReportData) -> dict | None:
    """The data inspection (duplicates and leakage between splits) when it is cheap."""
    if report.data is None:
        return None
    splits = {name: d for name, d in (("train", report.data.train), ("val", report.data.val),
                                      ("test", report.data.test)) if d is not None and len(d)}
    size = sum(d.images.nbytes for d in splits.values())
    if size > LEAKAGE_CHECK_BYTES:
        report.notes["leakage"] = (f"not checked: the images take {size / 2**30:.1f} GiB; "
                                   "run 'cnnkit data inspect' on the data")
        return None
    return inspect(splits, examples=3)


def _diagnose(report: ReportData) -> list:
    """The diagnosis findings from whatever is there (each rule needs only its own input)."""
    model, data = report.model, report.data
    names = getattr(model, "class_names", None)
    val = data.val if data is not None and data.val is not None and len(data.val) else None
    return diagnose(report.files.history, report.files.timing, report.evaluation,
                    class_counts=data.train.class_counts() if data is not None else None,
                    leakage=report.inspection, num_classes=len(names) if names else None,
                    val_class_counts=val.class_counts() if val is not None else None)


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, CnnkitError) else str(exc)
