"""The local engine: a GGUF model run through llama.cpp's C API (llama-cpp-python's ctypes layer).

Why the low-level API rather than `llama_cpp.Llama`: marco's search branches a lot. One context
holds `n_seq_max` sequences in a unified KV cache, so sequences forked from a common prefix
share its cells; every request reuses the longest cached prefix it can find; and one
`llama_decode` call advances every running request by one token (true batched decoding).
Logits are read as numpy views and never copied into Python lists.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import llama_cpp as lc
import numpy as np

from marco_cli.engine.base import (
    EngineStats,
    FinishReason,
    Generation,
    Request,
    TextCallback,
    TokenLogprobs,
    answer_room,
    find_stop,
)
from marco_cli.engine.chat_template import ChatTemplate
from marco_cli.engine.sampling import RowPool, pick_tokens
from marco_cli.errors import ContextOverflowError, ModelError

GGUF_MAGIC = b"GGUF"
_ALL_LAYERS = 1_000_000  # llama.cpp clamps n_gpu_layers to the model's layer count
FLASH_ATTN = {
    "auto": lc.LLAMA_FLASH_ATTN_TYPE_AUTO,
    "on": lc.LLAMA_FLASH_ATTN_TYPE_ENABLED,
    "off": lc.LLAMA_FLASH_ATTN_TYPE_DISABLED,
}


# llama.cpp logs process-wide through one C callback. These live at module level so the C side
# can never call a function pointer that Python has already collected.
@lc.llama_log_callback
def _quiet_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    _remember_load_error(text)


@lc.llama_log_callback
def _stderr_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    _remember_load_error(text)
    sys.stderr.write(text.decode("utf-8", errors="replace"))


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C while llama.cpp runs, and deliver it when llama.cpp returns.

    Python raises KeyboardInterrupt in whatever Python code runs when the signal comes, which
    inside llama.cpp is the log callback; ctypes prints and drops an exception raised there, and
    the load or decode would carry on as if nothing had been pressed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run in the main thread only
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)


_LOAD_ERROR_MARK = "error loading model: "
_load_error: list[str] = []
"""llama.cpp's reason for the last failed model load (it only logs it; the C API returns NULL)."""


def _remember_load_error(text: bytes) -> None:
    line = text.decode("utf-8", errors="replace")
    if _LOAD_ERROR_MARK in line:
        _load_error[:] = [line.split(_LOAD_ERROR_MARK, 1)[1].strip()]


def _load_failure(path: Path) -> ModelError:
    """One line for a GGUF file llama.cpp refused, with its reason when it logged one."""
    reason = _load_error[0] if _load_error else ""
    _load_error.clear()
    if "unknown model architecture" in reason:
        return ModelError(
            f"cannot load {path}: llama.cpp reports {reason}; marco runs architectures this "
            "llama.cpp build supports (Marco-o1 is qwen2)"
        )
    detail = f" ({reason})" if reason else ""
    return ModelError(
        f"cannot load {path}: not a valid GGUF model or truncated/corrupt{detail}; "
        "download it again"
    )


_backend_ready = False


class LlamaEngine:
    """A GGUF model loaded with llama.cpp; implements `marco_cli.engine.base.Engine`."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 8192,
        n_gpu_layers: int = -1,
        n_threads: int | None = None,
        n_seq_max: int = 16,
        n_batch: int = 512,
        n_ubatch: int | None = None,
        flash_attn: str = "auto",
        verbose: bool = False,
    ) -> None:
        """`n_ubatch` (tokens per physical batch, default n_batch) and `flash_attn` (auto: where
        the backend has it) are llama.cpp's context parameters, there to be compared on a GPU."""
        global _backend_ready
        if flash_attn not in FLASH_ATTN:
            raise ValueError(f"flash_attn is one of {', '.join(FLASH_ATTN)}, not {flash_attn!r}")
        path = Path(path)
        _check_gguf_file(path)
        self._stack = ExitStack()  # frees, in reverse order: batch, context, model
        self._ctx = None
        self._log_callback = _stderr_log if verbose else _quiet_log
        lc.llama_log_set(self._log_callback, ctypes.c_void_p(0))
        if not _backend_ready:
            lc.llama_backend_init()
            _backend_ready = True

        gpu = bool(lc.llama_supports_gpu_offload())
        self.n_threads = n_threads or _physical_cores()
        self._n_seq_max = max(1, min(n_seq_max, lc.llama_max_parallel_sequences()))
        self._n_batch = max(n_batch, self._n_seq_max)  # a decode step holds one token per sequence
        model_params = lc.llama_model_default_params()
        model_params.n_gpu_layers = (
            (_ALL_LAYERS if n_gpu_layers < 0 else n_gpu_layers) if gpu else 0
        )
        ctx_params = lc.llama_context_default_params()
        ctx_params.n_ctx = n_ctx
        ctx_params.n_batch = self._n_batch
        ctx_params.n_ubatch = min(n_ubatch or self._n_batch, self._n_batch)
        ctx_params.n_seq_max = self._n_seq_max
        ctx_params.flash_attn_type = FLASH_ATTN[flash_attn]
        # One cache shared by all sequences: forks share their prefix cells and n_ctx is the
        # budget of the whole pool rather than n_ctx / n_seq_max per sequence. (A cache per
        # sequence cannot fork a prefix: llama.cpp copies only whole sequences between them.)
        ctx_params.kv_unified = True
        ctx_params.n_threads = ctx_params.n_threads_batch = self.n_threads
        ctx_params.no_perf = True

        # No file-descriptor redirection: the log callback already silences llama.cpp, and
        # redirecting fd 2 would also swallow the Rich spinner shown while the model loads.
        _load_error.clear()
        with _ctrl_c_held():
            model = lc.llama_model_load_from_file(str(path).encode(), model_params)
            if model:
                self._stack.callback(lc.llama_model_free, model)
        if not model:
            raise _load_failure(path)
        self.model_name = _meta_str(model, "general.name") or path.stem
        try:
            self._template = ChatTemplate.of_model(model, f"{self.model_name} ({path})")
        except ModelError:
            self.close()
            raise
        with _ctrl_c_held():
            ctx = lc.llama_init_from_model(model, ctx_params)
            if ctx:
                self._stack.callback(lc.llama_free, ctx)
        if not ctx:
            self.close()
            raise ModelError(f"llama.cpp could not create a context of {n_ctx} tokens for {path}")
        self._model, self._ctx = model, ctx
        # llama.cpp caps n_batch at n_ctx: chunk by what it actually accepts.
        self._n_batch = int(lc.llama_n_batch(ctx))
        self._n_seq_max = min(self._n_seq_max, self._n_batch)
        self._vocab = lc.llama_model_get_vocab(model)
        self._n_vocab = lc.llama_vocab_n_tokens(self._vocab)
        self._batch = _Batch(self._n_batch, self._n_seq_max)
        self._stack.callback(self._batch.free)
        # The host work of a step runs on as many threads as llama.cpp's, idle meanwhile.
        self._rows = RowPool(self.n_threads)
        self._stack.callback(self._rows.close)
        self._slots = _Slots(lc.llama_get_memory(ctx), self._n_seq_max)
        self._busy: set[int] = set()
        self._pieces: dict[int, bytes] = {}
        self._eog: dict[int, bool] = {}

        self.n_ctx = int(lc.llama_n_ctx(ctx))
        offloadable = lc.llama_model_n_layer(model) + 1  # the output layer counts too
        layers = min(model_params.n_gpu_layers, offloadable)
        if layers > 0:
            where = f"GPU offload: {layers}/{offloadable} layers"
        else:
            where = f"CPU ({self.n_threads} threads)"
        self.backend = f"{where}; chat template {self._template.name}"
        self.stats = EngineStats()
        self._decode_cpu_seconds = 0.0  # this thread's, inside llama_decode: not host work

    # -- text <-> tokens ------------------------------------------------------------------

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        # Never adds BOS: callers tokenize fragments too; chat_tokens adds it for whole prompts.
        self._check_open()
        data, size = text.encode("utf-8"), len(text.encode("utf-8")) + 8
        while True:  # a negative count is the buffer size llama.cpp needs
            buffer = (lc.llama_token * size)()
            n = lc.llama_tokenize(self._vocab, data, len(data), buffer, size, False, special)
            if n >= 0:
                return list(buffer[:n])
            size = -n

    def detokenize(self, tokens: Sequence[int]) -> str:
        self._check_open()
        return b"".join(self._piece(t) for t in tokens).decode("utf-8", errors="replace")

    def chat_tokens(self, messages: Sequence[dict[str, str]]) -> list[int]:
        # The template's own text is tokenized with control tokens parsed, message text
        # without: a user's "<|im_end|>" stays text and cannot end their turn.
        tokens: list[int] = []
        for segment in self._template.segments(messages):
            tokens += self.tokenize(segment.text, special=not segment.is_message)
        bos = lc.llama_vocab_bos(self._vocab)
        # Some templates write the BOS token themselves; it must not appear twice.
        if lc.llama_vocab_get_add_bos(self._vocab) and tokens[:1] != [bos]:
            tokens.insert(0, bos)
        return tokens

    def _piece(self, token: int) -> bytes:
        """The bytes of one token (control tokens rendered), cached per token id."""
        size = 64
        while token not in self._pieces:
            buffer = ctypes.create_string_buffer(size)
            n = lc.llama_token_to_piece(self._vocab, token, buffer, size, 0, True)
            if n >= 0:
                self._pieces[token] = buffer.raw[:n]
            size = -n
        return self._pieces[token]

    # -- generation -----------------------------------------------------------------------

    def generate(self, request: Request, on_text: TextCallback | None = None) -> Generation:
        return self.generate_batch([request], on_text)[0]

    def generate_batch(
        self, requests: Sequence[Request], on_text: TextCallback | None = None
    ) -> list[Generation]:
        self._check_open()
        stats = self.stats
        started, decode_before = time.perf_counter(), stats.decode_seconds
        cpu_started, decode_cpu_before = time.thread_time(), self._decode_cpu_seconds
        helpers_before = self._rows.cpu_seconds
        results: list[Generation] = []
        try:
            # A batch can hold at most one request per KV sequence; larger ones run in groups,
            # which changes nothing in the results since requests are independent.
            for start in range(0, len(requests), self._n_seq_max):
                group = requests[start : start + self._n_seq_max]
                results += self._run_group(group, start, on_text)
        finally:
            decoding = stats.decode_seconds - decode_before
            stats.host_seconds += time.perf_counter() - started - decoding
            decoding = self._decode_cpu_seconds - decode_cpu_before
            stats.host_cpu_seconds += time.thread_time() - cpu_started - decoding
            stats.host_cpu_seconds += self._rows.cpu_seconds - helpers_before
        return results

    def _run_group(
        self, requests: Sequence[Request], offset: int, on_text: TextCallback | None
    ) -> list[Generation]:
        runs = [self._new_run(offset + i, request) for i, request in enumerate(requests)]
        live = [run for run in runs if run.max_tokens > 0]
        plan = self._slots.assign([run.prompt for run in live])
        self._busy = {slot for slot, _ in plan}
        try:
            for run, (slot, kept) in zip(live, plan, strict=True):
                run.slot, run.kept, run.prompt_evaluated = slot, kept, len(run.prompt) - kept
            self._prefill(live, on_text)
            active = [run for run in live if run.finish is None]
            while active:
                self._decode(
                    [
                        (run.tokens[-1], len(self._slots.tokens[run.slot]), (run.slot,), True)
                        for run in active
                    ]
                )
                for run in active:
                    # The sampled token is in the KV only now that it has been decoded.
                    self._slots.tokens[run.slot].append(run.tokens[-1])
                self._accept(active, self._logits(len(active)), on_text)
                active = [run for run in active if run.finish is None]
        except BaseException:
            # The KV of these slots no longer matches our bookkeeping: forget them.
            for slot in self._busy:
                self._slots.clear(slot)
            raise
        finally:
            self._busy = set()
        return [run.result() for run in runs]

    def _new_run(self, index: int, request: Request) -> _Run:
        prompt = list(request.prompt)
        if not prompt:
            raise ValueError("a request needs at least one prompt token")
        if len(prompt) >= self.n_ctx:
            raise ContextOverflowError(
                f"the input is {len(prompt)} tokens; the context holds {self.n_ctx} "
                "(raise --ctx or shorten the input)"
            )
        # Cap so that prompt + answer fits; the request then ends with "length".
        max_tokens = answer_room(request.max_tokens, len(prompt), self.n_ctx)
        return _Run(
            index, request, prompt, max_tokens, np.random.default_rng(request.sampling.seed)
        )

    def _prefill(self, runs: list[_Run], on_text: TextCallback | None) -> None:
        """Evaluate every run's uncached prompt suffix and sample each run's first token.

        Tokens that several runs need at the same position after the same prefix go into the
        batch once, tagged with all their sequence ids, so K branches of an uncached prompt
        cost one evaluation of it. Logits are requested only for each run's last prompt token.
        """
        entries: list[tuple[int, int, list[int], bool]] = []
        node: dict[tuple[int, int], int] = {}  # (parent entry or root, token) -> entry index
        roots: dict[tuple[int, ...], int] = {}  # cached prefix -> its root id (negative)
        readers: dict[int, list[_Run]] = {}  # entry index -> runs sampling from its logits
        for run in runs:
            # Runs share an entry only after the same tokens, cached ones included: a token
            # after a different prefix has a different KV even at the same position.
            parent = -1 - roots.setdefault(tuple(run.prompt[: run.kept]), len(roots))
            for pos in range(run.kept, len(run.prompt)):
                key = (parent, run.prompt[pos])
                index = node.get(key)
                if index is None:
                    index = node[key] = len(entries)
                    entries.append((run.prompt[pos], pos, [run.slot], False))
                else:
                    entries[index][2].append(run.slot)
                parent = index
            token, pos, seq_ids, _ = entries[parent]
            entries[parent] = (token, pos, seq_ids, True)
            readers.setdefault(parent, []).append(run)

        for lo in range(0, len(entries), self._n_batch):
            chunk = entries[lo : lo + self._n_batch]
            self._decode(chunk)
            for token, _, seq_ids, _ in chunk:
                for seq in seq_ids:
                    self._slots.tokens[seq].append(token)
            # Logits rows are stored for the entries that asked for them, in batch order.
            rows: list[int] = []
            sampling: list[_Run] = []
            for row, i in enumerate(i for i, entry in enumerate(chunk) if entry[3]):
                for run in readers.get(lo + i, ()):
                    rows.append(row)
                    sampling.append(run)
            if sampling:
                logits = self._logits(rows[-1] + 1)
                in_order = rows == list(range(len(rows)))
                self._accept(sampling, logits if in_order else logits[rows], on_text)

    def _accept(self, runs: list[_Run], logits: np.ndarray, on_text: TextCallback | None) -> None:
        """Sample the next token of every run from its row of `logits` (one step, all rows at
        once) and decide for each whether it is done."""
        samplings = [run.request.sampling for run in runs]
        tokens, logprobs = pick_tokens(logits, samplings, [run.rng for run in runs], self._rows)
        for run, token, logprob in zip(runs, tokens, logprobs, strict=True):
            if self._is_eog(token):
                run.finish = "eos"
            else:
                run.tokens.append(token)
                run.logprobs.append(logprob)
                self.stats.generated += 1
                run.emit(run.decoder.decode(self._piece(token)), on_text)
                hit = find_stop(run.text, run.request.stop) if run.request.stop else None
                if hit is not None:
                    run.finish, run.stop = "stop", hit[1]
                elif len(run.tokens) >= run.max_tokens:
                    run.finish = "length"
            if run.finish is not None:
                run.emit(run.decoder.decode(b"", final=True), on_text)

    def _is_eog(self, token: int) -> bool:
        eog = self._eog.get(token)
        if eog is None:
            eog = self._eog[token] = bool(lc.llama_vocab_is_eog(self._vocab, token))
        return eog

    def _logits(self, rows: int) -> np.ndarray:
        """A view (no copy) of the first `rows` logits rows of the last decoded batch."""
        return np.ctypeslib.as_array(lc.llama_get_logits(self._ctx), shape=(rows, self._n_vocab))

    def _decode(self, entries: Sequence[tuple[int, int, Sequence[int], bool]]) -> None:
        """One llama_decode call; on a full KV cache, evict idle slots (LRU) and retry."""
        self._batch.fill(entries)
        while True:
            started, cpu_started = time.perf_counter(), time.thread_time()
            with _ctrl_c_held():
                rc = lc.llama_decode(self._ctx, self._batch.raw)
                # A GPU backend may still be computing: wait here, so that the wait counts as
                # decoding and not as the host work that reads the logits next.
                lc.llama_synchronize(self._ctx)
            self.stats.decode_seconds += time.perf_counter() - started
            self._decode_cpu_seconds += time.thread_time() - cpu_started
            if rc == 0:
                break
            if rc != 1:
                raise ModelError(
                    f"llama.cpp failed to evaluate a batch (llama_decode returned {rc})"
                )
            # rc 1: no room in the KV cache; llama.cpp has restored the cache as it was.
            if not self._slots.evict_lru(exclude=self._busy):
                raise ContextOverflowError(
                    f"the context ({self.n_ctx} tokens shared by {len(self._busy)} parallel "
                    "sequences) is full; raise --ctx or run fewer branches at once"
                )
        self.stats.evaluated += len(entries)
        self.stats.batches += 1
        self.stats.batch_sizes.append(len(entries))  # tokens per llama_decode call

    # -- lifetime -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._ctx is None:
            raise RuntimeError("the engine is closed")

    def close(self) -> None:
        """Free the batch, the context, then the model; safe to call more than once."""
        stack = getattr(self, "_stack", None)
        if stack is not None:
            stack.close()
        self._ctx = None

    def __enter__(self) -> LlamaEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


@dataclass
class _Run:
    """One request while it is being generated."""

    index: int  # position in the caller's list, passed to on_text
    request: Request
    prompt: list[int]
    max_tokens: int
    rng: np.random.Generator
    slot: int = -1
    kept: int = 0  # prompt tokens found in the KV cache
    prompt_evaluated: int = 0
    tokens: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprobs] = field(default_factory=list)
    text: str = ""
    finish: FinishReason | None = None
    stop: str | None = None
    # Multi-byte characters may be split over tokens: decode bytes incrementally.
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )

    def emit(self, text: str, on_text: TextCallback | None) -> None:
        if text:
            self.text += text
            if on_text is not None:
                on_text(self.index, text)

    def result(self) -> Generation:
        return Generation(
            tokens=self.tokens,
            logprobs=self.logprobs,
            text=self.text,
            finish_reason=self.finish or "length",
            stop=self.stop,
            prompt_evaluated=self.prompt_evaluated,
        )


class _Slots:
    """The KV cache's sequences as a pool of slots: which tokens each sequence id holds.

    `tokens[s]` is exactly what the KV holds for sequence s (a sampled token enters only once
    it has been decoded). A request starts from the slot sharing its longest prefix, in place
    or as a fork: a copy of the shared prefix (`llama_memory_seq_cp`, which in a unified cache
    only tags the cells, it copies no data) into an empty or least recently used slot.
    """

    def __init__(self, memory: lc.llama_memory_t, n: int) -> None:
        self.memory = memory
        self.tokens: list[list[int]] = [[] for _ in range(n)]
        self.last_used = [0] * n
        self.clock = 0
        self.evictions = 0

    def assign(self, prompts: list[list[int]]) -> list[tuple[int, int]]:
        """Give each prompt its own slot with as much of it cached as possible: (slot, kept).

        A prompt continues its best slot in place when that loses at most the slot's last
        token; otherwise it forks, so the other branch stays cached for later requests.
        `kept` is at most len(prompt) - 1: logits are not stored, so the last prompt token is
        always evaluated again to get the distribution of the first new token.
        """
        self.clock += 1
        wanted = {s for s, kept in map(self._best_source, prompts) if kept > 0}
        claimed: set[int] = set()
        trims: list[tuple[int, int]] = []
        plan: list[tuple[int, int]] = []
        for prompt in prompts:
            source, kept = self._best_source(prompt)
            others = [s for s in range(len(self.tokens)) if s not in claimed and s != source]
            in_place = len(self.tokens[source]) - kept <= 1 or not others
            if kept > 0 and source not in claimed and in_place:
                claimed.add(source)
                trims.append((source, kept))
                plan.append((source, kept))
                continue
            # Fork into an empty slot, else the least recently used one that no request of
            # this batch is about to read from.
            target = min(
                others + ([] if kept or source in claimed else [source]),
                key=lambda s: (bool(self.tokens[s]), s in wanted, self.last_used[s]),
            )
            claimed.add(target)
            self.clear(target)
            if kept > 0:
                lc.llama_memory_seq_cp(self.memory, source, target, 0, kept)
                self.tokens[target] = self.tokens[source][:kept]
            plan.append((target, kept))
        # Trim in-place slots only now: later requests of the batch may have copied from them.
        for slot, kept in trims:
            if not lc.llama_memory_seq_rm(self.memory, slot, kept, -1):
                self.clear(slot)  # cannot cut a sequence short (recurrent models): start over
                plan[plan.index((slot, kept))] = (slot, 0)
            del self.tokens[slot][kept:]
        for slot, _ in plan:
            self.last_used[slot] = self.clock
        return plan

    def _best_source(self, prompt: list[int]) -> tuple[int, int]:
        """The slot sharing the longest prefix with `prompt` (most recent on ties)."""
        cap = len(prompt) - 1
        return max(
            ((s, min(_common_prefix(tokens, prompt), cap)) for s, tokens in enumerate(self.tokens)),
            key=lambda item: (item[1], self.last_used[item[0]]),
        )

    def evict_lru(self, exclude: set[int]) -> bool:
        """Empty the least recently used non-empty slot outside `exclude`; False if none."""
        candidates = [s for s, t in enumerate(self.tokens) if t and s not in exclude]
        if not candidates:
            return False
        self.clear(min(candidates, key=lambda s: self.last_used[s]))
        self.evictions += 1
        return True

    def clear(self, slot: int) -> None:
        lc.llama_memory_seq_rm(self.memory, slot, -1, -1)
        self.tokens[slot] = []


class _Batch:
    """One llama_batch allocated once and refilled for every decode call."""

    def __init__(self, capacity: int, n_seq_max: int) -> None:
        self.raw = lc.llama_batch_init(capacity, 0, n_seq_max)

    def fill(self, entries: Sequence[tuple[int, int, Sequence[int], bool]]) -> None:
        """Entries are (token, position, sequence ids, whether to compute its logits)."""
        raw = self.raw
        raw.n_tokens = len(entries)
        for i, (token, pos, seq_ids, logits) in enumerate(entries):
            raw.token[i] = token
            raw.pos[i] = pos
            raw.n_seq_id[i] = len(seq_ids)
            for j, seq in enumerate(seq_ids):
                raw.seq_id[i][j] = seq
            raw.logits[i] = logits

    def free(self) -> None:
        lc.llama_batch_free(self.raw)


def _common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the common prefix; a binary search over C-speed list comparisons."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _check_gguf_file(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"model file not found: {path} (check the path or download the model)")
    if not path.is_file():
        raise ModelError(f"model path is not a file: {path} (point to a .gguf file)")
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"not a GGUF model file: {path} (marco needs a .gguf model)")


def _meta_str(model: lc.llama_model_p, key: str) -> str | None:
    buffer = ctypes.create_string_buffer(256)
    n = lc.llama_model_meta_val_str(model, key.encode(), buffer, ctypes.sizeof(buffer))
    return buffer.value.decode("utf-8", errors="replace") if n >= 0 else None


def _physical_cores() -> int:
    """Physical cores this process may use (hyper-threads slow llama.cpp down)."""
    try:
        cores = {_core(cpu) for cpu in os.sched_getaffinity(0)}
    except (OSError, AttributeError):  # no sysfs topology, or not Linux
        return os.cpu_count() or 1
    return len(cores) or 1


def _core(cpu: int) -> tuple[str, str]:
    topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
    return (topology / "physical_package_id").read_text(), (topology / "core_id").read_text()
