"""A recipe trained in Python, without a run directory: what examples/recipe_run.py and
benchmarks/tta.py time. (``cnnkit train --recipe`` trains the same way through its run
workflow, which adds checkpoints, run files and the report.)"""

from __future__ import annotations

from ..data import ImageDataset
from ..train.augment import parse_augment
from ..train.loop import Trainer
from ..train.losses import SparseCategoricalCrossentropy
from ..train.precision import resolve_precision
from ..train.schedules import make_schedule, parse_schedule
from .recipe import Recipe


def fit_recipe(recipe: Recipe, train: ImageDataset, epochs: int | None = None,
               precision: str | None = None, callbacks=(), verbose: int = 0):
    """A model built by ``recipe`` for ``train``'s images and classes, trained as the recipe
    says (``epochs`` and ``precision`` override it), with the weight average written into
    the weights at the end; test it with ``model.evaluate(test, tta=recipe.tta)``."""
    epochs = epochs or recipe.epochs
    model = recipe.build(train.image_shape, train.num_classes)
    model.compile(optimizer=recipe.make_optimizer(),
                  loss=SparseCategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
                  metrics=["accuracy"])
    model.precision = resolve_precision(precision or recipe.precision, model.net)[0]
    plan = model.fit_plan(train, epochs=epochs, batch_size=recipe.batch_size,
                          callbacks=list(callbacks), verbose=verbose)
    name, options = parse_schedule(recipe.schedule)
    steps = -(-len(train) // recipe.batch_size)
    schedule = make_schedule(name, model.optimizer.learning_rate, epochs, steps, **options)
    augment = parse_augment(recipe.augment, train.image_shape, model.preprocess.value_range())
    Trainer(model, plan.task, model.precision, augment=augment, schedule=schedule).run(plan)
    return model
