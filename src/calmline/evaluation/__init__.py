"""Measurement: the labelled call-utterance set, the shared data sets, and baselines on the same folds."""
