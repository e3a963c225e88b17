"""A fitted model as one self-contained ``torch.nn.Module`` that takes the same raw input as
:meth:`AutoEncoder.transform` (the input scaling inside it), and its export to ONNX and
TorchScript for serving without this package. Mixed into ``AutoEncoder``."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._io import atomic_path
from .config import EXPORT_FORMATS, EXPORT_PARTS, INPUT_DTYPES

if TYPE_CHECKING:
    from .config import ArchitectureConfig
    from .inputs import InputSpec
    from .models import AutoEncoderModule
    from .neighbours import NeighbourMap

__all__ = ["ExportMixin", "ServingModule", "EXPORT_FORMATS", "EXPORT_PARTS", "INPUT_DTYPES",
           "read_export_metadata", "describe_export", "export_format"]

#: The key of the JSON description in an ONNX file's metadata and a TorchScript archive.
METADATA_KEY = "autoencoders"
_OUTPUT_NAMES = {"encoder": "code", "decoder": "reconstruction", "full": "reconstruction",
                 "map": "coordinates"}
_ONNX_OPSET = 18
#: File suffixes of each format.
_SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".pth", ".ts")}
_M = TypeVar("_M", bound=nn.Module)


def export_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The format to write ``path`` in: ``format``, or the one its suffix names.

    Raises
    ------
    ValueError
        When the suffix names no export format (an export named model.csv was written,
        then refused as a user's file when exported again: a hostile trial), or
        ``format`` and the suffix disagree (a TorchScript archive named .onnx).
    """
    by_suffix = _format_of(path)
    if by_suffix is None:
        raise ValueError(f"{path}: an export is named .onnx (ONNX) or .pt, .pth or .ts "
                         "(TorchScript); name the file so")
    if format is not None and format != by_suffix:
        raise ValueError(f"{path}: the suffix {Path(path).suffix.lower()} means {by_suffix}, "
                         f"but the format asked for is {format}; name the file "
                         f"{_SUFFIXES[format][0]}, or "
                         "leave the format to the suffix")
    return by_suffix


def _format_of(path: str | os.PathLike[str]) -> str | None:
    """The export format ``path``'s suffix names (any case), or None."""
    suffix = Path(path).suffix.lower()
    return next((f for f, s in _SUFFIXES.items() if suffix in s), None)


class ServingModule(nn.Module):
    """One part of a fitted ``AutoEncoder``, from raw input to its output, for export.

    The input scaling of the fitted model (``input_spec_``) is held as buffers, so the
    module's output equals the estimator's (``transform``, ``reconstruct``, ``inverse_transform``,
    ``map``) for the same raw input, up to float32 rounding.

    Parameters
    ----------
    estimator : AutoEncoder
        Fitted. Its weights are copied: later changes to either do not reach the other.
    part : {"encoder", "decoder", "full", "map"}
        - "encoder": raw input (n, *feature_shape) → codes (n, latent_dim) float32 (the mean
          of a variational model);
        - "decoder": codes (n, latent_dim) float32 → reconstructions (n, *feature_shape)
          float32 in the input's units (min-max scaling undone, as ``inverse_transform``);
        - "full": raw input → reconstructions (as ``reconstruct``);
        - "map": raw input → 2-D map coordinates (n, 2) float32 (as ``map``; a model fitted
          with ``neighbour_map=True``).
    input_dtype : {"float32", "uint8"}
        The raw input's dtype; other dtypes are refused. Under ``input_scaling="auto"``,
        uint8 pixels are divided by 255 inside the module and float32 is taken as already
        in the model's units ([0, 1] intensities for an image model), as ``transform``
        takes each; min-max statistics apply to both.

    Raises
    ------
    ValueError
        For an unknown part or input dtype, or "map" for a model without a map.

    Notes
    -----
    ``transform`` refuses input outside the training range by more than the clipping band
    (``autoencoders.inputs``); the module cannot refuse, and clips every value into [0, 1]
    for a model whose input lies there, which is what ``transform`` does within the band.
    """

    offset: torch.Tensor  # buffers, registered in __init__
    scale: torch.Tensor

    def __init__(self, estimator: ExportMixin, part: str = "encoder",
                 input_dtype: str = "float32") -> None:
        super().__init__()
        check_is_fitted(estimator, "model_")
        if part not in EXPORT_PARTS:
            raise ValueError(f"unknown part {part!r}; choose one of {', '.join(EXPORT_PARTS)}")
        if input_dtype not in INPUT_DTYPES:
            raise ValueError(f"unknown input dtype {input_dtype!r}; choose one of "
                             f"{', '.join(INPUT_DTYPES)}")
        if part == "map" and not hasattr(estimator, "neighbour_map_"):
            raise ValueError("this model has no 2-D map to export: fit it with "
                             "neighbour_map=True (autoencoders fit --map)")
        spec = estimator.input_spec_
        self.part, self.input_dtype = part, input_dtype
        self.feature_shape = tuple(spec.feature_shape)
        self.latent_dim = int(estimator.architecture_.latent_dim)
        # The copy also drops the caller's device placement: export runs on the CPU.
        self.model = _copied(estimator.model_)
        self.map: nn.Module | None = (_copied(estimator.neighbour_map_.network_)
                                      if part == "map" else None)
        self.map_on_code = part == "map" and estimator.map_input == "code"
        stats = spec.stats
        self.minmax = bool(stats)
        self.divide_by_255 = spec.divides_by_255(np.dtype(input_dtype))
        self.clip = spec.unit or self.minmax
        shape = self.feature_shape
        self.register_buffer("offset", torch.as_tensor(stats.get("offset", np.zeros(shape)),
                                                       dtype=torch.float32).reshape(shape))
        self.register_buffer("scale", torch.as_tensor(stats.get("scale", np.ones(shape)),
                                                      dtype=torch.float32).reshape(shape))
        self.requires_grad_(False).eval()  # for inference: outputs convert to numpy as-is

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        """Raw input (n, *feature_shape) → the model's input, float32 (``InputSpec.scaled``)."""
        x = x.to(torch.float32)
        if self.minmax:
            x = (x - self.offset) * self.scale
        elif self.divide_by_255:
            x = x * (1.0 / 255.0)
        return x.clamp(0.0, 1.0) if self.clip else x

    def unscaled(self, r: torch.Tensor) -> torch.Tensor:
        """Model-space reconstructions → the input's units (``InputSpec.unscale``)."""
        return r / self.scale + self.offset if self.minmax else r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class docstring for each part's shapes.

        Raises
        ------
        TypeError
            For input of another dtype than the module takes (uint8 pixels given to a
            float32 module would skip the division by 255 and give wrong codes silently).
        """
        if self.part == "decoder":
            return self.unscaled(self.model.decode(x))
        if x.dtype != getattr(torch, self.input_dtype):
            raise TypeError(f"this module takes {self.input_dtype} input, got {x.dtype}; "
                            f"for uint8 pixels use as_module(..., input_dtype='uint8'), for "
                            "values in the model's units float32")
        x = self.scaled(x)
        if self.part == "encoder":
            return self.model.encode(x)
        if self.part == "full":
            return self.unscaled(self.model.reconstruct(x))
        features = self.model.encode(x) if self.map_on_code else x.reshape(x.shape[0], -1)
        assert self.map is not None  # the "map" part always has one
        return cast(torch.Tensor, self.map(features))

    def example_input(self, n: int = 2) -> torch.Tensor:
        """A zero input of ``n`` rows of the part's shape and dtype (for tracing)."""
        if self.part == "decoder":
            return torch.zeros(n, self.latent_dim)
        return torch.zeros(n, *self.feature_shape, dtype=getattr(torch, self.input_dtype))


def _copied(module: _M) -> _M:
    import copy

    return copy.deepcopy(module).cpu().eval()


class ExportMixin:
    """:meth:`as_module` and :meth:`export` for a fitted ``AutoEncoder``."""

    # What the host estimator (``AutoEncoder``) provides.
    model_: AutoEncoderModule
    architecture_: ArchitectureConfig
    input_spec_: InputSpec
    neighbour_map_: NeighbourMap
    map_input: str
    if TYPE_CHECKING:
        def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def as_module(self, part: str = "encoder", *, input_dtype: str = "float32") -> ServingModule:
        """This model as one ``torch.nn.Module`` from raw input (scaling included) to the
        output of ``part``: what :meth:`export` writes, for use in your own PyTorch code.

        Parameters
        ----------
        part : {"encoder", "decoder", "full", "map"}, default "encoder"
        input_dtype : {"float32", "uint8"}, default "float32"
            See :class:`~autoencoders.export.ServingModule`.

        Returns
        -------
        ServingModule
            On the CPU, in eval mode, with copies of the weights that need no gradient.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            For an unknown part or dtype, or "map" for a model without a map.
        """
        return ServingModule(self, part, input_dtype)

    def export(self, path: str | os.PathLike[str], *, format: str | None = None,
               part: str = "encoder",
               input_dtype: str = "float32") -> Path:
        """Write one part of the model to ONNX or TorchScript, input scaling inside.

        The file takes a batch of any size (a dynamic first axis) of raw input shaped like
        the training data (``feature_shape_``), or codes for the decoder, and holds in its
        metadata (ONNX ``metadata_props``, a TorchScript extra file), under the key
        ``"autoencoders"``, a JSON object with the package version, the part, the input
        and output names, dtypes and shapes, and the model's parameters and architecture
        (:func:`read_export_metadata` reads it back).

        Parameters
        ----------
        path : str or Path
            The file to write (conventionally ``.onnx`` or ``.pt``), written atomically: on
            any error an existing file keeps its contents. An existing file is written over
            only when named as an export (``.onnx``, ``.pt``, ``.pth``, ``.ts``): an earlier
            export, not a model's, a run's or a data file.
        format : {"onnx", "torchscript"}, optional
            By default the one ``path``'s suffix names (``.onnx``; ``.pt``, ``.pth``,
            ``.ts``), else ONNX. ONNX through PyTorch's ``torch.export``-based exporter
            (opset 18; needs the ``onnx`` extra: onnx and onnxscript);
            TorchScript by tracing
            (``torch.jit.load`` reads it; PyTorch ≥ 2.9 calls TorchScript deprecated and
            warns on loading: prefer ONNX for new deployments).
        part, input_dtype
            See :meth:`as_module`.

        Returns
        -------
        Path
            ``path``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        ValueError
            For an unknown format, part or dtype, a format the suffix contradicts, or "map"
            for a model without a map.
        ImportError
            For ONNX without the onnx and onnxscript packages.
        OSError
            When ``path`` cannot be written; ``FileExistsError`` (nothing written) when it
            is an existing file not named as an export.
        """
        if os.path.lexists(path) and _format_of(path) is None:
            raise FileExistsError(f"{path} exists and is not named as an export (.onnx, .pt, "
                                  ".pth, .ts): export writes over earlier exports only; "
                                  "nothing was written: choose another path")
        if format is not None and format not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {format!r}; choose one of "
                             f"{', '.join(EXPORT_FORMATS)}")
        format = export_format(path, format)
        module = self.as_module(part, input_dtype=input_dtype)
        from . import __version__
        from .persistence import params_to_json

        example = module.example_input()
        input_name = "code" if part == "decoder" else "input"
        output_name = _OUTPUT_NAMES[part]
        with torch.inference_mode():
            out_shape = tuple(module(example).shape[1:])
        facts = {"version": __version__, "format": format, "part": part,
                 "input": {"name": input_name, "dtype": str(example.dtype).split(".")[-1],
                           "shape": ["batch", *example.shape[1:]]},
                 "output": {"name": output_name, "dtype": "float32",
                            "shape": ["batch", *out_shape]},
                 "params": params_to_json(self.get_params()),
                 "architecture": self.architecture_.to_dict()}
        with atomic_path(path) as tmp:
            if format == "onnx":
                _write_onnx(module, example, tmp, input_name, output_name, facts)
            else:
                # PyTorch ≥ 2.9 marks TorchScript deprecated; it is what was asked for here.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    traced = torch.jit.trace(module, example)  # type: ignore[no-untyped-call]
                    torch.jit.save(traced, str(tmp),
                                   _extra_files={METADATA_KEY: json.dumps(facts)})
        return Path(path)


def _write_onnx(module: ServingModule, example: torch.Tensor, path: Path, input_name: str,
                output_name: str, facts: dict[str, Any]) -> None:
    try:
        import onnx  # noqa: F401  (the exporter needs both)
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"ONNX export needs onnx and onnxscript ({exc}); install them with "
                          "pip install 'onnx>=1.16' 'onnxscript>=0.2' (the onnx extra)") from None
    # The exporter logs a warning per torchvision operator it cannot register, and warns
    # about its own deprecated internals: nothing the user can act on.
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module, (example,), dynamo=True, opset_version=_ONNX_OPSET, verbose=False,
                input_names=[input_name], output_names=[output_name],
                dynamic_shapes=({0: torch.export.Dim("batch")},))
    finally:
        quiet.setLevel(level)
    assert program is not None  # None only from the legacy exporter (dynamo=False)
    program.model.metadata_props[METADATA_KEY] = json.dumps(facts)
    program.save(str(path))


def read_export_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON description that :meth:`ExportMixin.export` put in an exported file.

    Parameters
    ----------
    path : str or Path
        An ``.onnx`` file or a TorchScript archive written by ``export``.

    Returns
    -------
    dict
        Keys ``version``, ``format``, ``part``, ``input``, ``output``, ``params``,
        ``architecture``.

    Raises
    ------
    ValueError
        When the file holds no such description (not written by ``export``).
    ImportError
        For an ONNX file without the onnx package.
    """
    path = Path(path)
    with open(path, "rb") as f:
        zipped = f.read(2) == b"PK"  # TorchScript archives are zip files
    text = ""
    if zipped:
        extra = {METADATA_KEY: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.load(str(path), _extra_files=extra)  # type: ignore[no-untyped-call]
        text = extra[METADATA_KEY]
    else:
        import onnx

        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception:  # protobuf's DecodeError and kin: not an ONNX file
            model = None
        if model is not None:
            text = {p.key: p.value for p in model.metadata_props}.get(METADATA_KEY, "")
    if not text:
        raise ValueError(f"{path} holds no autoencoders metadata: was it written by "
                         "'autoencoders export'?")
    return cast("dict[str, Any]", json.loads(text))


def describe_export(path: str | os.PathLike[str]) -> str:
    """One line on an exported file, from its metadata: format, part, and its input and
    output (name, dtype, shape), e.g. ``onnx encoder, input uint8 (batch, 28, 28) → code
    float32 (batch, 25)``. Raises as :func:`read_export_metadata`."""
    facts = read_export_metadata(path)
    i, o = facts["input"], facts["output"]
    return (f"{facts['format']} {facts['part']}, {i['name']} {i['dtype']} "
            f"({', '.join(map(str, i['shape']))}) → {o['name']} {o['dtype']} "
            f"({', '.join(map(str, o['shape']))})")
