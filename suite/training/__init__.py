"""Training a distribution's parameters: ConstraintModule (the reusable API) and the strategies compared."""

from suite.training.constraint_module import TRANSFORMS, ConstraintModule, constraint_transform
from suite.training.fitspec import FitSpec, fit_spec, fittable
from suite.training.strategies import (
    LOSSES,
    STRATEGIES,
    STRATEGY_CLASSES,
    ParametrizeModule,
    RebuildPerStep,
    RetainGraph,
    Strategy,
    TrainingState,
    training_state,
)
from suite.training.trajectories import (
    Run,
    Verdict,
    compare_strategies,
    invalid_initial_value_error,
    run_strategy,
    spec_from_values,
    stale_parameters,
    trajectory_error,
    validation_default_preserved,
)

__all__ = ["LOSSES", "STRATEGIES", "STRATEGY_CLASSES", "TRANSFORMS", "ConstraintModule", "FitSpec",
           "ParametrizeModule", "RebuildPerStep", "RetainGraph", "Run", "Strategy", "TrainingState", "Verdict",
           "compare_strategies", "constraint_transform", "fit_spec", "fittable", "invalid_initial_value_error",
           "run_strategy", "spec_from_values", "stale_parameters", "training_state", "trajectory_error",
           "validation_default_preserved"]
