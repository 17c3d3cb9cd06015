"""benchmarks/recipe_steps.py: recipes as typed, read into TrainConfig fields of the right types."""
import importlib.util
import pathlib

import click
import pytest

from tinygrad_tf.config import TrainConfig

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "recipe_steps.py"


@pytest.fixture(scope="module")
def recipe_steps():
    spec = importlib.util.spec_from_file_location("recipe_steps", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_recipe_is_read_with_each_fields_type(recipe_steps):
    overrides = recipe_steps.parse_recipe(" batch_tokens=800, dropout=0, decay=linear,max_pairs=50,max_minutes=1.5,")
    assert overrides == {"batch_tokens": 800, "dropout": 0.0, "decay": "linear", "max_pairs": 50, "max_minutes": 1.5}
    assert isinstance(overrides["dropout"], float) and isinstance(overrides["batch_tokens"], int)
    TrainConfig.for_task("spa-eng", **overrides)  # a valid config
    assert recipe_steps.parse_recipe("norm_first=True") == {"norm_first": True}


@pytest.mark.parametrize("recipe", ["layers", "bogus=1", "dropout="])
def test_a_recipe_that_is_not_field_equals_value_is_refused_by_name(recipe_steps, recipe):
    with pytest.raises(click.BadParameter, match="FIELD=VALUE"):
        recipe_steps.parse_recipe(recipe)


@pytest.mark.parametrize("recipe", ["steps=many", "dropout=0.1.2", "max_pairs=1.5", "norm_first=yes"])
def test_a_value_of_the_wrong_type_is_refused_by_field(recipe_steps, recipe):
    with pytest.raises(click.BadParameter, match="takes a value of type"):
        recipe_steps.parse_recipe(recipe)


def test_the_two_recipes_compared_by_default_are_the_papers_and_the_main_jobs(recipe_steps):
    main_job = TrainConfig.for_task("spa-eng")
    assert TrainConfig.for_task("spa-eng", **recipe_steps.parse_recipe(recipe_steps.MAIN_JOB)) == main_job
    paper = TrainConfig.for_task("spa-eng", **recipe_steps.parse_recipe(recipe_steps.PAPER))
    assert (paper.batch_tokens, paper.dropout, paper.decay, paper.min_freq) == (1600, 0.1, "inverse_sqrt", 2)
