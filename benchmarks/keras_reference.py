"""The reference notebook's autoencoder in Keras (TensorFlow CPU), for side-by-side timing.

Run by ``benchmarks/speed.py`` in a child process (so that TensorFlow's threads and memory
stay out of our measurements); prints one JSON object on its last line of stdout.

The model is the notebook's: Flatten → Dense 400 → 200 → 100 → 50 → 25 (ReLU) → Dense 50 →
100 → 200 → 400 (ReLU) → Dense 784 (sigmoid) → Reshape (28, 28); binary cross-entropy;
Keras' defaults (Glorot-uniform weights, zero biases). With ``--recipe ours`` the 25-unit
code is linear, as in our estimator's default model (``params.architecture_from_params``),
so that both sides train the same model.

Usage: python keras_reference.py --recipe notebook|ours --budget SECONDS [--target 0.0956]
[--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np


def load_mnist():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    from autoencoders.datasets import load_mnist as _load

    (X, _), (Xt, _) = _load("train", progress=False), _load("test", progress=False)
    return X.astype("float32") / 255.0, Xt.astype("float32") / 255.0


def build(keras, bias_init=None, code="relu"):
    L = keras.layers
    inp = keras.Input((28, 28))
    h = L.Flatten()(inp)
    for width in (400, 200, 100, 50):
        h = L.Dense(width, activation="relu")(h)
    h = code_out = L.Dense(25, activation=code)(h)
    for width in (50, 100, 200, 400):
        h = L.Dense(width, activation="relu")(h)
    init = "zeros" if bias_init is None else keras.initializers.Constant(bias_init)
    out = L.Reshape((28, 28))(L.Dense(784, activation="sigmoid", bias_initializer=init)(h))
    return keras.Model(inp, out), keras.Model(inp, code_out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", choices=("notebook", "ours"), required=True)
    parser.add_argument("--budget", type=float, default=900.0,
                        help="seconds of training after which to stop")
    parser.add_argument("--target", type=float, default=0.0956)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    X, Xt = load_mnist()
    if args.recipe == "notebook":
        epochs, bs = args.epochs or 50, args.batch_size or 32
        model, encoder = build(keras)
        optimizer = keras.optimizers.SGD(learning_rate=args.lr or 1.5)
    else:  # ours, as closely as Keras allows (autoencoders.config.TrainingConfig defaults):
        # Adam betas (0.9, 0.99), 15 % linear warm-up to 4e-3 then cosine decay per step,
        # output bias at the logit of the mean pixel, batch 128, 8 epochs.
        epochs, bs = args.epochs or 8, args.batch_size or 128
        p = np.clip(X.reshape(len(X), -1).mean(axis=0), 1e-4, 1 - 1e-4)
        model, encoder = build(keras, bias_init=np.log(p / (1 - p)), code="linear")
        steps = epochs * int(np.ceil(len(X) / bs))
        warm = round(0.15 * steps)
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, steps - warm, warmup_target=args.lr or 4e-3, warmup_steps=warm)
        optimizer = keras.optimizers.Adam(learning_rate=schedule, beta_2=0.99)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")

    class Clock(keras.callbacks.Callback):
        """Training seconds per epoch, validation excluded; stops at the budget."""

        def __init__(self):
            super().__init__()
            self.train_seconds, self.val, self.total = [], [], 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_test_begin(self, logs=None):
            if self._start is not None:
                self.train_seconds.append(time.perf_counter() - self._start)
                self.total += self.train_seconds[-1]
                self._start = None

        def on_epoch_end(self, epoch, logs=None):
            self.val.append(float(logs["val_loss"]))
            if self.total >= args.budget:
                self.model.stop_training = True

    clock = Clock()
    model.fit(X, X, epochs=epochs, batch_size=bs, shuffle=True, verbose=0,
              validation_data=(Xt, Xt), callbacks=[clock])

    fit_peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    reached = next((i for i, v in enumerate(clock.val) if v <= args.target), None)
    encoder.predict(Xt[:1000], batch_size=1000, verbose=0)  # warm-up
    start = time.perf_counter()
    encoder.predict(Xt, batch_size=1000, verbose=0)
    predict_seconds = time.perf_counter() - start
    print(json.dumps({
        "recipe": args.recipe, "epochs_run": len(clock.val), "batch_size": bs,
        "val_bce": clock.val, "train_seconds": clock.train_seconds,
        "seconds_to_target": (float(np.sum(clock.train_seconds[:reached + 1]))
                              if reached is not None else None),
        "epochs_to_target": None if reached is None else reached + 1,
        "best_val_bce": min(clock.val), "final_val_bce": clock.val[-1],
        "predict_images_per_second": len(Xt) / predict_seconds,
        "fit_peak_rss_bytes": fit_peak_rss,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
    }))


if __name__ == "__main__":
    main()
