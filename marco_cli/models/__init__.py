"""Model names and where their GGUF files live.

A model name (`--model`, `model:` in the config file, MARCO_MODEL) is one of:

- `auto` (the default): Marco-o1 when it is in the Hugging Face cache (or can be downloaded),
  otherwise the demo model, with one warning saying so;
- an alias from the registry `marco_cli/data/models.yaml`: `marco-o1`, `marco-o1:q8_0`, ...,
  `demo`, `demo-1.5b` (see `marco models list`);
- `hf:OWNER/REPO/FILE.gguf` (or `hf:OWNER/REPO@REVISION/FILE.gguf`): a file on Hugging Face;
- `OWNER/REPO:QUANT` or `hf.co/OWNER/REPO:QUANT` (ollama's and llama.cpp's `-hf` forms): the GGUF
  file of that quantization in the repository (without `:QUANT`, Q4_K_M);
- a path to a local `.gguf` file.

The modules, each importing only those listed before it:

- `spec`: the data types (registry entries, parsed names, resolved files, list rows);
- `reporter`: the callbacks through which notes, warnings and progress reach the user;
- `registry`: the shipped aliases;
- `names`: parsing a model name into a spec;
- `gguf_header`: the quantization and name a GGUF file's header records, for files whose name
  or alias tells none;
- `hub`: the Hugging Face cache and downloads;
- `demo`: the offline demo models, assembled from pip packages (one extra each);
- `resolve`: `resolve_model`, the entry point, `list_models` and `model_sha256`;
- `remove`: finding and deleting a cached model (`marco models rm`).

Nothing here imports llama.cpp, and nothing prints.
"""

from marco_cli.models.names import parse_model_name
from marco_cli.models.registry import AUTO, known_aliases
from marco_cli.models.remove import delete_cached, find_cached
from marco_cli.models.reporter import SILENT, Reporter
from marco_cli.models.resolve import (
    EMBEDDED_MODELS,
    PREFERRED_MODEL,
    cached_name,
    list_models,
    model_sha256,
    pull_model,
    resolve_model,
    resolve_spec,
)
from marco_cli.models.spec import CachedFile, ModelInfo, ModelSpec, RegistryEntry, ResolvedModel

__all__ = [
    "AUTO",
    "EMBEDDED_MODELS",
    "PREFERRED_MODEL",
    "SILENT",
    "CachedFile",
    "ModelInfo",
    "ModelSpec",
    "RegistryEntry",
    "Reporter",
    "ResolvedModel",
    "cached_name",
    "delete_cached",
    "find_cached",
    "known_aliases",
    "list_models",
    "model_sha256",
    "parse_model_name",
    "pull_model",
    "resolve_model",
    "resolve_spec",
]
