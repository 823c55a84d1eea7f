"""The model card (README.md) of an exported folder: the Hub's YAML front matter, the model's
shape, its tokenizer, the training metadata the checkpoint carries, and how to use it."""

from __future__ import annotations

import json

from .config import GPTConfig
from .tokenizer import BPETokenizer

FRONT_MATTER = """\
---
library_name: transformers
pipeline_tag: text-generation
tags:
- gpt2
- mirador
- text-generation
---"""

CHAR_TOKENIZER = """\
One token per character of the training text ({n} characters, listed in tokenizer.json); a character
outside them is an error."""

BPE_TOKENIZER = """\
GPT-2's BPE. The model trained on {n:,} of its 50,257 tokens (the ones its training text used, the 256
bytes and <|endoftext|>).

**Tokens it never trained on.** The other GPT-2 ids share one embedding row, chosen so that its logit
is the same for every input and far below the best trained token's: they are never predicted, and the
model gives the trained tokens the probabilities Mirador gives them. A word the training text never had
becomes such an id as input, where Mirador spells it out in bytes: for exact results keep prompts to
the training text's words."""

USE = """\
## Use

```python
from transformers import pipeline

generate = pipeline("text-generation", model="PATH_OR_REPO")
print(generate({prompt}, max_new_tokens=50, do_sample=False)[0]["generated_text"])
```

The prompt and the new tokens together must fit in the context of {context} tokens: `transformers`
stops there, where Mirador slides its window on.

## Upload

```bash
huggingface-cli upload user/repo THIS_FOLDER   # `hf upload user/repo THIS_FOLDER` in huggingface_hub >= 1.0
```
"""


def _cell(value) -> str:
    """A value as one Markdown table cell: no line breaks, no column separators, no HTML."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    else:
        text = str(value)
    text = " ".join(text.split())
    for ch in "\\|<>*_`[]":
        text = text.replace(ch, "\\" + ch)
    return text


def _table(rows) -> str:
    return "\n".join(["| | |", "| --- | --- |", *(f"| {_cell(k)} | {_cell(v)} |" for k, v in rows)])


def _example_prompt(tokenizer) -> str:
    """A prompt the tokenizer can encode (a char model knows only its training text's characters)."""
    for prompt in ("The", "\n"):
        if isinstance(tokenizer, BPETokenizer) or all(ch in tokenizer.chars for ch in prompt):
            return prompt
    return tokenizer.chars[0]


def model_card(name: str, config: GPTConfig, tokenizer, meta: dict, num_parameters: int) -> str:
    """name: the checkpoint's file name; meta: its training metadata (any JSON object);
    num_parameters: the exported model's (with a BPE model's rows for every GPT-2 id)."""
    bpe = isinstance(tokenizer, BPETokenizer)
    trained = f" ({config.num_parameters:,} trained)" if bpe else ""
    shape = [
        ("Architecture", "GPT-2 (GPT2LMHeadModel), exact GELU"),
        ("Parameters", f"{num_parameters:,}{trained}"),
        ("Layers × heads × width", f"{config.n_layer} × {config.n_head} × {config.n_embd}"),
        ("Context (n_positions)", f"{config.block_size} tokens"),
        ("Dropout (training)", config.dropout),
        ("Weights", "float32"),
    ]
    training = [(k, v) for k, v in meta.items() if not isinstance(v, (dict, list))]
    settings = meta.get("train_config")
    sections = [
        FRONT_MATTER,
        f"# {_cell(name.removesuffix('.safetensors'))}",
        (
            "A small GPT trained from scratch with Mirador (a teaching app: train a GPT in the browser and "
            "look inside it), exported to GPT-2's architecture for `transformers`."
        ),
        "## Model",
        _table(shape),
        "## Tokenizer",
        (BPE_TOKENIZER if bpe else CHAR_TOKENIZER).format(n=tokenizer.vocab_size),
        "## Training",
        _table(training) if training else "No training metadata was saved with this model.",
    ]
    if isinstance(settings, dict) and settings:
        sections += ["Training settings:", _table(settings.items())]
    sections.append(USE.format(prompt=json.dumps(_example_prompt(tokenizer)), context=config.block_size))
    return "\n\n".join(sections)
