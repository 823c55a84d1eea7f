"""Command line: a checkpoint to a Hugging Face `transformers` folder, and back.

    python -m gpt.export model.safetensors OUT_DIR              # GPT2LMHeadModel + tokenizer + card
    python -m gpt.export --from-hf DIR model.safetensors        # a GPT-2-architecture folder -> Mirador

The exported folder loads with `GPT2LMHeadModel.from_pretrained(OUT_DIR)` and
`AutoTokenizer.from_pretrained(OUT_DIR)`, and is what `huggingface-cli upload` takes. It
holds config.json (GPT-2's architecture with exact GELU, `activation_function="gelu"`),
generation_config.json, model.safetensors (gpt/hf_weights.py: the layout, and why the rows
of GPT-2 ids a BPE model never trained on get a logit that never wins), the tokenizer
(gpt/hf_tokenizer.py), README.md (gpt/hf_card.py) and mirador.json: the GPT-2 ids the model
was trained on and its metadata. transformers' `save_pretrained` into the same folder leaves
mirador.json alone, so a model trained further there comes back with the same vocabulary.

Importing reads only safetensors and JSON (never a pickled pytorch_model.bin), refuses a
folder whose tokenizer Mirador cannot read, and checks the shape against caps: the command
line's defaults are the app's (ui/limits.py), so what it writes, the app's Model tab accepts.
Nothing here needs `transformers`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from .checkpoint import load, save, write_atomically
from .config import GPTConfig
from .hf_card import model_card
from .hf_tokenizer import GPT2_VOCAB_SIZE, hf_tokenizer_files, read_hf_tokenizer
from .hf_weights import expand_vocabulary, from_gpt2, to_gpt2
from .model import GPT
from .tokenizer import GPT2_END_OF_TEXT_ID, BPETokenizer

MIRADOR_JSON = "mirador.json"  # the export's own record: kept GPT-2 ids and training metadata
PREFIX = "transformer."  # GPT2LMHeadModel's name for its GPT2Model
GELU_TANH = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")  # approximations of exact GELU
# What transformers' GPT2Config assumes for a key config.json leaves out.
GPT2_DEFAULTS = {
    "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": None, "resid_pdrop": 0.1,
    "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "scale_attn_weights": True,
    "scale_attn_by_inverse_layer_idx": False, "add_cross_attention": False, "tie_word_embeddings": True,
}


def _json_bytes(data, indent: int | None = 2) -> bytes:
    return (json.dumps(data, indent=indent, ensure_ascii=False) + "\n").encode("utf-8")


def _hf_config(model: GPT, vocab_size: int, end_of_text: int | None) -> dict:
    c = model.config
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": vocab_size,
        "n_positions": c.block_size,
        "n_embd": c.n_embd,
        "n_layer": c.n_layer,
        "n_head": c.n_head,
        "n_inner": None,  # 4 * n_embd, as ours
        "activation_function": "gelu",  # exact GELU (F.gelu); GPT-2's default gelu_new is the tanh approximation
        "resid_pdrop": c.dropout,
        "embd_pdrop": c.dropout,
        "attn_pdrop": c.dropout,
        "layer_norm_epsilon": model.ln_f.eps,
        "initializer_range": 0.02,
        "scale_attn_weights": True,  # by 1/sqrt(head_size)
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "tie_word_embeddings": True,
        "bos_token_id": end_of_text,
        "eos_token_id": end_of_text,
        "use_cache": True,
        "dtype": "float32",
    }


def export_to_hf(ckpt_path, out_dir, overwrite: bool = False) -> Path:
    """Write the checkpoint as a transformers folder (see the module docstring); returns it.

    out_dir must be new or empty unless overwrite, which replaces the files an export writes."""
    ckpt_path, out_dir = Path(ckpt_path), Path(out_dir)
    model, tokenizer, meta = load(ckpt_path)
    if model.config.changed_switches:
        raise ValueError(
            f"{ckpt_path.name} is one of the lecture's earlier stages ({', '.join(stage_parts(model.config))}), "
            "and GPT-2's architecture has no such model: every block has residual connections, LayerNorm and "
            "a feed-forward network. Only a full model exports (the Train tab's, or python -m gpt.train's)."
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file: give a folder to export into.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ValueError(f"{out_dir} is not empty: choose a new folder, or overwrite it (--overwrite).")
    if not out_dir.parent.is_dir():
        raise FileNotFoundError(f"No folder {out_dir.parent} to create {out_dir.name} in.")
    tensors = to_gpt2(model.state_dict())
    if isinstance(tokenizer, BPETokenizer):
        tensors = expand_vocabulary(tensors, tokenizer.gpt2_ids, GPT2_VOCAB_SIZE)
        vocab_size, end_of_text = GPT2_VOCAB_SIZE, GPT2_END_OF_TEXT_ID
    else:
        vocab_size, end_of_text = tokenizer.vocab_size, None
    tokenizer_files = hf_tokenizer_files(tokenizer, model.config.block_size)
    card = model_card(ckpt_path.name, model.config, tokenizer, meta, sum(t.numel() for t in tensors.values()))
    files = {
        "model.safetensors": safetensors_bytes({PREFIX + k: v for k, v in tensors.items()}, metadata={"format": "pt"}),
        "config.json": _json_bytes(_hf_config(model, vocab_size, end_of_text)),
        "generation_config.json": _json_bytes({"bos_token_id": end_of_text, "eos_token_id": end_of_text}),
        # tokenizer.json on one line: GPT-2's 50,000 merges, indented, would be four lines each
        **{name: _json_bytes(data, indent=None) for name, data in tokenizer_files.items()},
        "README.md": card.encode("utf-8"),
        MIRADOR_JSON: _json_bytes({"exported_from": ckpt_path.name, "tokenizer": tokenizer.to_dict(), "meta": meta}),
    }
    out_dir.mkdir(exist_ok=True)
    for name, data in files.items():
        write_atomically(out_dir / name, data)
    return out_dir


def stage_parts(config: GPTConfig) -> list[str]:
    """What an earlier stage of the lecture lacks, in words (for messages)."""
    words = {"residual": "no residual connections", "layer_norm": "no LayerNorm", "mlp": "no feed-forward network",
             "bigram": "a bigram table"}
    return [words[name] for name in config.changed_switches]


# Importing.


def _not_importable(folder: Path, why: str) -> ValueError:
    return ValueError(f"{folder.name} cannot be imported: {why}.")


def _read_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise _not_importable(folder, "it has no config.json (save a model there with save_pretrained)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _not_importable(folder, "its config.json is not JSON") from None
    if not isinstance(config, dict) or config.get("model_type") != "gpt2":
        kind = config.get("model_type") if isinstance(config, dict) else None
        raise _not_importable(folder, f"it is a {kind!r} model; Mirador imports GPT-2's architecture (model_type gpt2)")
    config = {**GPT2_DEFAULTS, **config}
    n_embd = config["n_embd"]
    expected = {
        "n_inner": (None, 4 * n_embd if isinstance(n_embd, int) else None),
        "scale_attn_weights": (True,),
        "scale_attn_by_inverse_layer_idx": (False,),
        "add_cross_attention": (False,),
        "tie_word_embeddings": (True,),
        "activation_function": ("gelu", *GELU_TANH),
    }
    for key, allowed in expected.items():
        value = config[key]
        if value not in allowed:
            needed = " or ".join(map(repr, allowed))
            raise _not_importable(folder, f"its {key} is {value!r}, where Mirador's GPT needs {needed}")
    return config


def _read_record(folder: Path) -> dict:
    """The export's mirador.json ({} when there is none: a folder from elsewhere)."""
    path = folder / MIRADOR_JSON
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("tokenizer"), dict):
        why = f"its {MIRADOR_JSON} is damaged; delete it (a BPE model then keeps every GPT-2 id)"
        raise _not_importable(folder, why)
    return record


def _kept_gpt2_ids(folder: Path, record: dict) -> list[int]:
    """The GPT-2 ids the export kept; every id when the folder has no mirador.json."""
    if not record:
        return list(range(GPT2_VOCAB_SIZE))
    try:
        return BPETokenizer(record["tokenizer"]["gpt2_ids"]).gpt2_ids.tolist()
    except (ValueError, KeyError, TypeError) as exc:
        why = f"its {MIRADOR_JSON} lists no valid GPT-2 ids ({exc}); delete it to keep every id"
        raise _not_importable(folder, why) from None


def _check_caps(name: str, config: GPTConfig, max_parameters, max_block_size, hint: str) -> None:
    if max_parameters is not None and config.num_parameters > max_parameters:
        raise ValueError(
            f"{name} has {config.num_parameters:,} parameters, over the cap of {max_parameters:,}{hint}: import "
            "a smaller model, or raise the cap (--max-parameters)."
        )
    if max_block_size is not None and config.block_size > max_block_size:
        raise ValueError(
            f"{name} has a context of {config.block_size} tokens, over the cap of {max_block_size}: import a "
            "model with a smaller n_positions, or raise the cap (--max-block-size)."
        )


def _read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    path = folder / "model.safetensors"
    if not path.is_file():
        if any(folder.glob("*.safetensors.index.json")):
            why = "its weights are sharded; save them as one model.safetensors"
        elif any(folder.glob("*.bin")) or any(folder.glob("*.pt")):
            why = "its weights are pickled (.bin): Mirador reads only model.safetensors; save with save_pretrained"
        else:
            why = "it has no model.safetensors"
        raise _not_importable(folder, why)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            tensors = {name.removeprefix(PREFIX): f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # truncated or not safetensors at all
        raise _not_importable(folder, f"its model.safetensors is unreadable ({type(exc).__name__})") from None
    # Old GPT-2 files also store each block's causal mask ("h.{i}.attn.bias"): a buffer, not a weight.
    buffers = (".attn.bias", ".attn.masked_bias")
    return {n: t for n, t in tensors.items() if not (n.startswith("h.") and n.endswith(buffers))}


def _tokenizer_and_rows(folder: Path, record: dict):
    """The folder's tokenizer as ours, the embedding rows it keeps, and a hint for the caps."""
    found = read_hf_tokenizer(folder)
    if found != "gpt2":
        return found, torch.arange(found.vocab_size), ""
    ids = _kept_gpt2_ids(folder, record)
    hint = "" if record else " (every GPT-2 id is kept: the folder has no mirador.json)"
    return BPETokenizer(ids), torch.tensor(ids), hint


def _mirador_state(folder: Path, rows: torch.Tensor, blank: GPT) -> dict[str, torch.Tensor]:
    """The folder's weights in our names and layout, checked against the shapes of blank."""
    tensors = _read_tensors(folder)
    wte, head = tensors.get("wte.weight"), tensors.pop("lm_head.weight", None)
    if head is not None and wte is not None and not torch.equal(head, wte):
        raise _not_importable(folder, "its output head differs from its token embedding; Mirador's GPT ties them")
    if wte is None or wte.dim() != 2 or wte.shape[0] <= int(rows.max()):
        raise _not_importable(folder, f"its token embedding lacks rows for the {len(rows):,} tokens of its tokenizer")
    state = from_gpt2({**tensors, "wte.weight": wte[rows]})
    expected = {name: t.shape for name, t in blank.state_dict().items()}
    if {name: t.shape for name, t in state.items()} != expected:
        missing, unexpected = sorted(set(expected) - set(state))[:3], sorted(set(state) - set(expected))[:3]
        why = f"its weights do not match its config.json (missing {missing}, unexpected {unexpected})"
        raise _not_importable(folder, why)
    if not all(torch.isfinite(t).all() for t in state.values()):
        raise _not_importable(folder, "its weights are not all finite")
    return state


def import_from_hf(folder, out_path, max_parameters: int | None = None, max_block_size: int | None = None) -> Path:
    """Convert a local GPT-2-architecture folder to a Mirador checkpoint at out_path.

    The tokenizer must be GPT-2's BPE or the character JSON an export writes. A BPE model keeps
    the GPT-2 ids listed in the folder's mirador.json (every id without one). max_parameters and
    max_block_size: caps to refuse larger models with (None: only GPTConfig's own bounds)."""
    folder, out_path = Path(folder), Path(out_path)
    if not folder.is_dir():
        raise FileNotFoundError(f"No folder at {folder}.")
    if out_path.suffix.lower() != ".safetensors":
        raise ValueError(f"{out_path.name} must end in .safetensors (the only checkpoint format Mirador reads).")
    if not out_path.parent.is_dir():
        raise FileNotFoundError(f"No folder {out_path.parent} to write {out_path.name} in.")
    hf = _read_config(folder)
    record = _read_record(folder)
    tokenizer, rows, hint = _tokenizer_and_rows(folder, record)
    try:
        config = GPTConfig(
            vocab_size=tokenizer.vocab_size, block_size=hf["n_positions"], n_layer=hf["n_layer"],
            n_head=hf["n_head"], n_embd=hf["n_embd"], dropout=hf["resid_pdrop"],
        )
    except (TypeError, ValueError) as exc:
        raise _not_importable(folder, str(exc).rstrip(".")) from None
    _check_caps(folder.name, config, max_parameters, max_block_size, hint)  # before reading a tensor
    with torch.device("meta"):  # shapes only
        blank = GPT(config)
    if hf["layer_norm_epsilon"] != blank.ln_f.eps:
        raise _not_importable(folder, f"its layer_norm_epsilon is {hf['layer_norm_epsilon']}, ours is {blank.ln_f.eps}")
    model = GPT(config)
    model.load_state_dict(_mirador_state(folder, rows, blank))
    meta = {"imported_from": folder.name}
    if isinstance(record.get("meta"), dict) and record["meta"]:
        meta["meta_at_export"] = record["meta"]  # the weights may have trained since
    if hf["activation_function"] in GELU_TANH:
        meta["note"] = (
            "Imported from a model using GELU's tanh approximation; Mirador computes exact GELU, "
            "so its outputs differ slightly."
        )
    return save(out_path, model, tokenizer, meta)


# The command line.


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpt.export", description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="a Mirador checkpoint; with --from-hf, a transformers folder (required)")
    p.add_argument("target", type=Path, help="the folder to write; with --from-hf, the checkpoint to write (required)")
    p.add_argument(
        "--from-hf", action="store_true",
        help="import: a GPT-2-architecture folder to a Mirador checkpoint (default: off, export)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing export or checkpoint (default: off)")
    caps = p.add_argument_group(
        "caps for --from-hf: refuse larger models before reading a tensor (the app's Model tab "
        "refuses uploads over its own caps, ui/limits.py, with a message)"
    )
    caps.add_argument("--max-parameters", type=int, default=None, help="most parameters to accept (default: no cap)")
    caps.add_argument(
        "--max-block-size", type=int, default=None, help="longest context (n_positions) to accept (default: no cap)"
    )
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.from_hf:
            if args.target.exists() and not args.overwrite:
                raise ValueError(f"{args.target} exists: choose another name, or overwrite it (--overwrite).")
            path = import_from_hf(args.source, args.target, args.max_parameters, args.max_block_size)
            note = load(path)[2].get("note")
            if note:
                print(f"note: {note}", file=sys.stderr)
        else:
            path = export_to_hf(args.source, args.target, overwrite=args.overwrite)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
