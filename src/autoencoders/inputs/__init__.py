"""The input contract, one package with one owner: what may come in, how it is checked
(once), scaled, and held out.

Everything that reaches a model passes through here, from the estimator's methods, the run
workflow and the chunked writers alike:

- :func:`as_rows` turns arrays, DataFrames, tensors, nested lists, memory-mapped ``.npy``
  arrays and streaming sources into :class:`Rows` (the data, the name errors give it, and
  the numbers its rows have in the file);
- :class:`InputSpec` is the frozen description of what a fitted model takes: the feature
  shape, the column names, the scaling policy and its statistics. ``InputSpec.fit`` learns
  it from training rows; :meth:`InputSpec.prepare` checks new rows against it and turns
  them into the model's input. Both read the values once: per-feature minimum and maximum
  in chunks, from which NaN, infinity, overflow and the [0, 1] range of the BCE loss are
  all decided (``np.min`` propagates NaN);
- :func:`holdout` is the one rule that holds rows out, for early stopping and for the
  command line's test split.

Scaling policies: ``"auto"`` divides uint8 by 255 (pixel intensities to [0, 1], as the
reference notebook does) and uses every other dtype as it is, except that floats outside
[0, 1] given to a model that takes [0, 1] (the BCE loss) get min-max scaling; ``"minmax"``
maps each feature to [0, 1] with the training data's per-feature minimum and range (new
values beyond the training range are clipped to [0, 1]); ``"none"`` changes nothing. uint8
pixels under ``"auto"`` stay uint8 until a batch is taken (:func:`pixels_to_unit`), so
that a data set is held at one byte per pixel: 47 MB rather than 188 MB for MNIST's
training images.
"""

from .holdout import holdout, split, training_inputs
from .rows import (
    InputTypeError,
    Rows,
    as_array,
    as_rows,
    check_codes,
    check_labels,
    column_names,
    named,
)
from .spec import SCALINGS, InputSpec, check_feature_names, pixels_to_unit

__all__ = ["Rows", "as_rows", "named", "InputSpec", "SCALINGS", "holdout", "split",
           "training_inputs", "InputTypeError", "column_names",
           "check_codes", "check_labels", "pixels_to_unit", "as_array",
           "check_feature_names"]
