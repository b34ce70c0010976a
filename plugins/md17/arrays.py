"""Arrays of a SchNOrb/MD17 row's ``data``: plain arrays or old base64-encoded ones.

Current files hold numpy arrays in ``row.data[name]``. Old files (schnetpack 0.3 era)
hold ``row.data[name]`` = base64 text of the array's raw bytes, with the shape in
``row.data["_shape_" + name]`` and the dtype in ``row.data["_dtype_" + name]``.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from hamkit.data.validation import record_error

NUMERIC_KINDS = "biuf"


def decode_array(
    data: Mapping[str, Any], name: str, source: str | os.PathLike[str], record: str
) -> np.ndarray:
    """The array ``name`` of a row's data, decoding the base64 layout when present.

    Args:
        data: ``row.data``.
        name: Entry name, e.g. ``"hamiltonian"``.
        source: File, for messages.
        record: Record name, for messages.

    Returns:
        The array (a read-only view for base64 data).

    Raises:
        RecordError: Missing entry, bad base64, a non-numeric dtype, or a byte count that
            disagrees with ``_shape_``/``_dtype_``.
    """
    if name not in data:
        raise record_error(source, record, f"has no data[{name!r}] (entries: {sorted(data)})",
                           "this is not a SchNOrb/MD17 Hamiltonian database")
    value = data[name]
    if isinstance(value, str) and f"_shape_{name}" in data:
        return _decode_base64(value, data, name, source, record)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise record_error(source, record, f"data[{name!r}] is not an array ({error})",
                           "the file is damaged") from None
    if array.dtype.kind not in NUMERIC_KINDS:
        raise record_error(source, record, f"data[{name!r}] holds {array.dtype} values, not numbers",
                           "the file is damaged or not in the SchNOrb layout")
    return array


def _decode_base64(text: str, data: Mapping[str, Any], name: str, source: str | os.PathLike[str],
                   record: str) -> np.ndarray:
    try:
        dtype = np.dtype(str(data[f"_dtype_{name}"]))
        shape = tuple(int(n) for n in np.atleast_1d(data[f"_shape_{name}"]).tolist())
    except (KeyError, TypeError, ValueError) as error:
        raise record_error(source, record, f"data['_dtype_{name}'] / data['_shape_{name}'] cannot "
                           f"be read ({type(error).__name__}: {error})", "the file is damaged") from None
    if dtype.kind not in NUMERIC_KINDS:
        raise record_error(source, record, f"data['_dtype_{name}'] is {dtype}, not a numeric type",
                           "the file is damaged")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise record_error(source, record, f"data[{name!r}] is not valid base64 ({error})",
                           "the file is truncated or damaged") from None
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise record_error(source, record, f"data[{name!r}] decodes to {len(raw)} bytes, but "
                           f"_shape_ {list(shape)} and _dtype_ {dtype} need {expected}",
                           "the file is truncated or damaged")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)
