"""The English of every error the library raises for a person to read: key -> template (str.format).

The key says where the error arises; gpt/errors.py explains how a UserError is written. A
translation holds the same keys with the same placeholders (the app's Spanish: locales/es.py).
"""

ERRORS = {
    # --- arguments (gpt/checks.py, gpt/settings.py) ---
    "check.whole": "{name} must be a whole number, got {value!r}.",
    "check.at_least": "{name} must be at least {low}, got {value}.",
    "check.at_most": "{name} must be at most {high}, got {value}: choose a smaller {name}.",
    "check.whole_at_least": "{name} must be a whole number >= {low}, got {value!r}.",
    "check.whole_between": "{name} must be a whole number between {low} and {high}, got {value!r}.",
    "check.between": "{name} must be between {low} and {high}, got {value}.",
    "check.number": "{name} must be a number, got {value!r}.",
    "check.finite": "{name} must be a finite number, got {value!r}.",
    "check.number_in": "{name} must be a number in {range}, got {value!r}.",
    "check.in": "{name} must be in {range}, got {value}.",  # range: [low, high), as mathematics writes it
    "check.ge": "{name} must be >= {low}, got {value}.",
    "check.gt": "{name} must be > {low}, got {value}.",
    "check.le": "{name} must be <= {high}, got {value}.",
    "check.lt": "{name} must be < {high}, got {value}.",
    "check.bool": "{name} must be true or false, got {value!r}.",
    "check.one_of": "{name} must be {choices}, got {value!r}.",
    "check.or": "{first} or {second}",  # choices: 'char' or 'bpe'
    "check.not_text": "{name} must be text, got {kind}.",
    # --- the model's shape (gpt/config.py) ---
    "config.n_embd_divisible": (
        "n_embd ({n_embd}) must be divisible by n_head ({n_head}) so every head gets the same width: try n_embd={suggested}."
    ),
    "config.too_many_parameters": "This shape has {count:,} parameters, over the limit of {limit:,}: lower n_layer, n_embd or vocab_size.",
    "config.not_object": "A model config must be a JSON object.",
    "config.unknown_fields": "Unknown model config fields: {fields}.",
    # The lecture's earlier stages (gpt/model.py) and its ladder (gpt/ladder.py)
    "model.bigram_attention": (
        "A bigram model has no attention: each token predicts the next from itself alone. Load or train a GPT to see attention."
    ),
    "ladder.text_too_short": (
        "The text is {count} tokens long; the ladder's longest context is {context} tokens, so it needs at least "
        "{needed}. Give a longer text."
    ),
    "ladder.too_many_parameters": (
        "The {stage} stage would have {count:,} parameters for this text's {tokens:,} tokens; the limit is {limit:,}. "
        "Use the char tokenizer."
    ),
    # --- tokenizers (gpt/tokenizer.py) ---
    "tokenizer.not_text": "Training text must be a string, got {kind}.",
    "tokenizer.empty": "The training text is empty: paste or upload some text first.",
    "tokenizer.unseen": (
        "This model never saw the character(s) {chars} in its training text: remove them, or train on text that "
        "contains them."
    ),
    "tokenizer.kind": "Tokenizer must be {choices}, got {value!r}.",
    "tokenizer.char_vocabulary": "A character vocabulary must be non-empty and hold each character once.",
    "tokenizer.char_encodable": "A character vocabulary must be text UTF-8 can encode (no lone surrogates).",
    "tokenizer.bpe_ids": "A BPE vocabulary must list GPT-2 token ids between 0 and 50256.",
    "tokenizer.bpe_bytes": "A BPE vocabulary must keep all 256 single-byte tokens.",
    "tokenizer.not_object": "A tokenizer description must be a JSON object.",
    "tokenizer.unknown": "Unknown tokenizer description (kind {kind!r}).",
    # --- the probe sentence (gpt/timeline.py) ---
    "probe.not_text": "The probe sentence must be text, got {kind}.",
    "probe.unseen": (
        "The probe sentence has character(s) the training text does not contain: {chars}. Remove them, or leave the "
        "probe empty to use the start of the training text."
    ),
    "probe.too_short": (
        "The probe sentence has {count} token(s); it needs at least {needed}. Type a longer one, or leave it empty to "
        "use the start of the training text."
    ),
    # --- a training (gpt/data.py, gpt/trainer.py, gpt/settings.py) ---
    "data.too_short": (
        "The text is {count} tokens long; training needs at least block_size + 1 = {needed} tokens. Give more text or "
        "choose a smaller block_size."
    ),
    "trainer.too_short": (
        "The training text is {count} tokens long; it must be at least block_size + 1 = {needed} tokens. Give more "
        "text or a smaller block_size."
    ),
    "trainer.min_lr": "min_lr ({min_lr}) must not exceed learning_rate ({learning_rate}).",
    "trainer.stop_at_past": "stop_at ({stop_at}) is past max_steps ({max_steps}): stop at or before the last step.",
    "settings.learning_rate_hint": "Typical values are 1e-4 to 5e-3, the larger for smaller models; much larger ones make the loss blow up.",
    "trainer.diverged_loss": "Training diverged at step {step}: the loss became {value}.",
    "trainer.diverged_grad_norm": "Training diverged at step {step}: the gradient norm became {value}.",
    "trainer.keeps_best": "The model keeps the weights of its best evaluation (step {step}, val loss {loss:.4f}).",
    "trainer.keeps_last": "The model keeps its last finite weights.",
    "trainer.lower_lr": "Lower the learning rate (now {lr:g}; try {suggested:g}) or the model size, then train again.",
    # --- checkpoints (gpt/checkpoint.py) ---
    "checkpoint.missing": "No checkpoint at {path}.",
    "checkpoint.cut_short": (
        "{file} is a Mirador checkpoint, but it is cut short ({size:,} of {expected:,} bytes): download or copy it again."
    ),
    "checkpoint.not_ours": "{file} is not a Mirador checkpoint ({reason}).",  # then checkpoint.save_with_mirador
    "checkpoint.save_with_mirador": "Save one with Mirador first.",
    "checkpoint.reason.unreadable": "unreadable as safetensors: {error}",
    "checkpoint.reason.no_header": "no Mirador header",
    "checkpoint.reason.invalid_header": "invalid header: {detail}",
    "checkpoint.reason.vocab_mismatch": "tokenizer has {count} tokens, model expects {expected}",
    "checkpoint.reason.tensors_mismatch": (
        "tensors do not match its config: missing {missing}, unexpected {unexpected}, wrong shape {wrong}"
    ),
    "checkpoint.reason.not_float32": "weights must be finite float32",
    "checkpoint.reason.timeline": "invalid attention timeline: {detail}",
}
