"""Keras family: how values reach Keras weights on each backend, with as few copies as possible.

TensorFlow: reading a weight shares its buffer copy-on-write, so `copy` moves no bytes until
either model updates the weight in place, and a restored host array is handed over through
DLPack (TF would copy a NumPy array before assigning it). PyTorch: a weight keeps its Parameter
for life and `assign` copies into it in place (`copy_`; done here as a memcpy on the CPU), from
the source's tensor or from a restored host array seen as a tensor (Keras would copy a NumPy
array first). JAX arrays are immutable and Keras's own `fit` donates a weight's buffer to the
jitted train step, so no two models may hold one array: a copy is written into the buffer the
destination weight held, donated to the write (memory that is already mapped, at memcpy speed),
and a restored host array becomes a JAX array without a copy where the CPU client can use its
memory as it is. Duck-typed: this module imports no Keras and no TensorFlow, and touches torch,
JAX or TensorFlow only when it is handed their tensors.
`codegen emit` copies this file verbatim into the output folder (`_runtime/keras3_values.py`).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .core import TransferError, Variable, error_text

# References to a weight's array when only the variable holds it, seen from `_reusable`: the
# variable's attribute, the local name there, and getrefcount's own argument.
_HELD_BY_VARIABLE_ONLY = 3


def to_numpy(var: Variable) -> np.ndarray:
    """The weight's value as a NumPy array."""
    return np.asarray(var.numpy())


def snapshot(var: Variable) -> tuple[Any, bool]:
    """(the weight's current value as a backend tensor, whether destinations may share it)."""
    value = getattr(var, "value", None)
    if callable(value):  # tf.Variable (tf_keras): value() reads it
        value = value()
    if value is None:
        return to_numpy(var), True  # every backend's assign copies a NumPy array
    # TF: the read shares the buffer copy-on-write, so training either side later copies it.
    read = getattr(value, "read_value", None)
    if callable(read):
        return read(), True
    # torch: a weight keeps its Parameter for life (torch modules and optimizers hold it), so
    # assign copies into it in place (`copy_`) and destinations may all read the source's.
    # A clone per destination would add a fresh allocation: 0.8 vs 6 GB/s on 125 MB.
    if callable(getattr(value, "copy_", None)):
        return value, True
    # JAX may donate a weight's buffer to a jitted train step: no two models may hold one.
    return value, False


def for_destination(dest: Variable, value: Any, shareable: bool) -> Any:
    """`value` as the destination weight `dest` may keep it (then `dest.assign` it)."""
    if shareable:
        return value
    jax = _jax_of(value)
    if jax is not None:
        written = _write_in_place(jax, dest, value)
        if written is not None:
            return written
    # A fresh copy: JAX arrays copy (keeping their sharding; their clone() shares the
    # buffer); a value with clone() and no copy() clones.
    for name in ("copy", "clone"):
        method = getattr(value, name, None)
        if callable(method):
            return method()
    return np.array(value)


def from_host(dest: Variable, array: np.ndarray) -> Any:
    """A host array read for `dest` as the backend value to assign, copied only if need be."""
    current: Any = getattr(dest, "value", None)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(current, torch.Tensor):
        # Keras would copy the array (np.array) before torch's `copy_` copies it again; a
        # tensor on the same memory leaves that one copy (into the weight's own Parameter).
        if array.dtype.kind in "biufc":
            return torch.from_numpy(array)
        if array.dtype.name == "bfloat16":  # ml_dtypes: NumPy has no such type of its own
            return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
        return array
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(current, tf.Variable):
        # TF copies a NumPy array on conversion, then assigns; a tensor on the array's own
        # memory (DLPack) it assigns by taking the buffer over: no byte is copied.
        try:
            return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
        except Exception:  # a dtype DLPack cannot carry (bfloat16 from ml_dtypes): TF converts
            return array
    jax = _jax_of(current)
    if jax is None:
        return array  # tf_keras: its value is a method, and it converts NumPy itself
    # Keras would convert with jnp.asarray, which always copies (about 1 GB/s on CPU);
    # device_put onto the weight's own sharding uses a 64-byte-aligned host array in place.
    return jax.device_put(array, current.sharding)


def assign(pairs: Iterable[tuple[Variable, Any]], count: int, doing: str) -> None:
    """Assign every pair; a failure says how far it got (shapes and dtypes are checked before)."""
    done = 0
    try:
        for var, value in pairs:
            if not _copy_into_parameter(var, value):
                var.assign(value)
            done += 1
    except Exception as exc:  # backends and safetensors raise their own types
        raise TransferError(
            f"{doing}: {error_text(exc)}; {done} of {count} weights were assigned before it"
        ) from exc


def _copy_into_parameter(var: Variable, value: Any) -> bool:
    """Keras's torch `assign` (`copy_` into the weight's Parameter, without autograd) done as a
    NumPy memcpy on the CPU; False, having done nothing, where `assign` must do it. torch's own
    copy loop splits over its thread pool and runs at half a memcpy's speed on busy cores."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor) or _keras_scope_open():
        return False
    target = getattr(var, "value", None)
    if not isinstance(target, torch.Tensor) or target.dtype != value.dtype:
        return False
    if target.shape != value.shape or target.device.type != "cpu" or value.device.type != "cpu":
        return False
    if not (target.is_contiguous() and value.is_contiguous()) or target.data_ptr() == 0:
        return False
    try:
        into, source = _bytes_of(torch, target), _bytes_of(torch, value)
    except (RuntimeError, TypeError):  # a tensor NumPy cannot see (conjugate or negative bit)
        return False
    np.copyto(into, source)
    # As copy_ would: autograd then refuses a backward through a graph that saved the old value.
    torch.autograd.graph.increment_version(target)
    return True


def _bytes_of(torch: Any, tensor: Any) -> np.ndarray:
    """A contiguous CPU tensor's memory as a NumPy byte array (shared, any dtype)."""
    return np.asarray(tensor.detach().reshape(-1).view(torch.uint8).numpy())


def _keras_scope_open() -> bool:
    """Whether a Keras stateless or autocast scope is open (an `assign` there records the new
    value, or reads a cast copy): also when this Keras lays its scopes out differently."""
    stateless: Any = sys.modules.get("keras.src.backend.common.stateless_scope")
    variables: Any = sys.modules.get("keras.src.backend.common.variables")
    try:
        return bool(stateless.in_stateless_scope() or variables.get_autocast_scope())
    except AttributeError:  # a module not loaded (None) or reorganised
        return True


def _jax_of(value: object) -> Any:
    """The `jax` module if `value` is a concrete JAX array (not a tracer), else None."""
    jax = sys.modules.get("jax")
    if jax is None or not isinstance(value, jax.Array) or isinstance(value, jax.core.Tracer):
        return None
    return jax


def _write_in_place(jax: Any, dest: Variable, value: Any) -> Any:
    """`value` written into the buffer of `dest`'s current array, or None where that buffer
    may not be reused: the write donates it, which deletes the old array."""
    old: Any = getattr(dest, "value", None)
    # Anything else holding the old array (a caller's reference, another weight that was
    # assigned the same array, a stateless scope) would find it deleted: then a fresh copy.
    if sys.getrefcount(old) > _HELD_BY_VARIABLE_ONLY or _jax_of(old) is None:
        return None
    if old.is_deleted() or old.shape != value.shape or old.dtype != value.dtype:
        return None  # deleted: a jitted step (Keras `fit`) holds the weight's live state
    if not old.sharding.is_equivalent_to(value.sharding, old.ndim):
        return None
    devices = old.sharding.device_set
    on_host = len(devices) == 1 and all(device.platform == "cpu" for device in devices)
    if on_host and _host_write_works(jax, str(old.dtype)):
        return _host_write(jax)(old, value)
    return _donated_write(jax)(old, value)


@functools.cache
def _donated_write(jax: Any) -> Callable[[Any, Any], Any]:
    """A jitted `new` written over the donated `old` (same shape, dtype and sharding)."""

    def write(old: Any, new: Any) -> Any:
        # An update of the whole array: XLA writes the output into the donated input's buffer
        # (returning `new` itself would get a fresh one).
        return jax.lax.dynamic_update_slice(old, new, (0,) * old.ndim)

    return jax.jit(write, donate_argnums=0)


def _copy_on_host(ctx: Any, out: list[Any], old: Any, new: Any) -> None:
    """The buffer callback: `new`'s bytes into the output, which is `old`'s buffer."""
    np.copyto(np.from_dlpack(out[0]), np.from_dlpack(new))


@functools.cache
def _host_write(jax: Any) -> Callable[[Any, Any], Any]:
    """`_donated_write` for one CPU device, the bytes moved by NumPy: XLA's own copy splits
    over its thread pool and falls behind a plain memcpy when the cores are busy."""
    from jax.experimental.buffer_callback import buffer_callback

    def write(old: Any, new: Any) -> Any:
        out = [jax.ShapeDtypeStruct(old.shape, old.dtype)]
        return buffer_callback(_copy_on_host, out, input_output_aliases={0: 0})(old, new)[0]

    return jax.jit(write, donate_argnums=0)


@functools.cache
def _host_write_works(jax: Any, dtype: str) -> bool:
    """Whether `_host_write` works here for `dtype` (an experimental JAX API; NumPy must take
    the dtype through DLPack), tried once on a small array: a failure after the donation
    would lose the destination's weight."""
    try:
        want = np.arange(4).astype(dtype)
        got = _host_write(jax)(jax.numpy.zeros(4, dtype), jax.numpy.asarray(want))
        return bool(np.array_equal(np.asarray(got), want))
    except Exception:  # an API that moved or a dtype DLPack cannot carry: XLA's copy then
        return False
