"""English: every string a person sees (keys shared with es.py), grouped by where it shows.

Keys with {placeholders} (format specs allowed: {loss:.3f}) are filled in by the server with
text(key, lang, **params). Static text (labels, help, Markdown) goes to the browser, where Gradio's
I18n translates it; a static key with placeholders is filled in first (ui/i18n.py static(key, **params)).
"""

from gpt.settings import FORM_FIELDS, TrainingSettings

from .learn_en import TEXTS as LEARN

TEXTS = {
    # --- the page's header and language switch (app.py) ---
    "header": "# Mirador: a GPT you can train and look inside\nBuilt from scratch following Karpathy's *Let's build GPT*. **Model:** {model} · **Runs on:** {device} · **Generates in:** {generation}",
    "language.switch": "Language",
    "tab.generate": "Generate",
    "tab.attention": "Attention",
    "tab.train": "Train",
    "tab.model": "Model",
    "tab.learn": "Learn",
    # Where models run (ui/threads.py)
    "device.cpu": "CPU, {cores} {cores_word} ({split}, {infer} per request)",
    "device.core": "core",
    "device.cores": "cores",
    "device.split.fixed": "{train} for training",
    "device.split.adaptive": "{alone} for training, {busy} while a request runs or a browser on this machine draws the run",
    # --- Generate ---
    "generate.intro": (
        "**Let the model write.** It reads your prompt, gives every possible next token a probability, draws one, "
        "appends it and repeats. **Temperature** reshapes those odds before drawing: low (0.2) plays safe and repeats "
        "itself, 1 uses the model's own odds, high (1.5) gets adventurous and misspells; 0 always takes the most likely "
        "token. **Top-k** keeps only the k likeliest tokens, **top-p** the fewest whose odds add up to p (0 and 1.0 turn "
        "them off). The same **seed** gives the same text."
    ),
    "generate.prompt": "Prompt",
    "generate.temperature": "temperature",
    "generate.temperature.info": "0 = always the likeliest token",
    "generate.top_k.info": "0 = off",
    "generate.top_p.info": "1.0 = off",
    "generate.seed": "seed",
    "generate.new_seed": "New seed",
    "generate.run": "Generate",
    "generate.stop": "Stop",
    "generate.output": "Generated text",
    "generate.output.info": "your prompt, then what the model wrote",
    "generate.plot": "next token",
    "generate.figure.title": "What could come next ({how})",
    "generate.figure.greedy": "greedy picks the top bar",
    "generate.figure.temperature": "temperature {temperature:g}",
    # --- Attention ---
    "attention.intro": (
        "**What is attention?** Each token builds a *query* (\"what am I looking for?\"), and every token up to it offers a "
        "*key* (\"what do I contain?\") and a *value* (\"what I pass on\"). A head compares the query with each key, turns "
        "the scores into weights that add up to 1 (a softmax) and takes the weighted mix of values. Below, a **row** is a "
        "token doing the looking and the **columns** are the tokens it looks at; bright cells carry most weight. The "
        "upper triangle stays dark: a token never sees the future. Different heads learn different habits: look at the "
        "previous character, at the start of the word, at the last space, at the line's speaker…"
    ),
    "attention.text": "Text to look at",
    "attention.show": "Show attention",
    "attention.layer": "Layer",
    "attention.layer.info": "layer 0 reads the raw tokens; later layers read what earlier ones wrote",
    "attention.grid": "attention grid",
    "attention.head": "Head",
    "attention.head.info": "one head, large: hover a cell for query, key and weight",
    "attention.overview": "All layers × all heads",
    # The tokens area (ui/attention.py)
    "attention.tokens.one": "1 token",
    "attention.tokens.many": "{count} tokens",
    "attention.tokens.cut": " (the first {shown} of {total}: the model's context is {context} tokens)",
    "attention.tokens.chip": "token {position}: id {id}",
    "attention.tokens.piece_of": ", a piece of “{char}”",
    "attention.probe.title": "Layer {layer} attention on a fixed sentence, at step {step}",
    # --- Train ---
    "train.intro": (
        "**Train a GPT on any text, live.** Pick a text and a model size, press **Train**, and watch three things: "
        "the **loss** (how surprised the model is by the next token: it falls as the model learns), the **samples** "
        "(noise, then letters, then words) and the **attention** of one layer on a fixed sentence (each head starts "
        "uniform and learns where to look). **Stop** keeps the model as it is; either way it becomes *your* model for "
        "the other tabs. One training runs at a time; others wait in line."
    ),
    "train.intro.slots": (
        "**Train a GPT on any text, live.** Pick a text and a model size, press **Train**, and watch three things: "
        "the **loss** (how surprised the model is by the next token: it falls as the model learns), the **samples** "
        "(noise, then letters, then words) and the **attention** of one layer on a fixed sentence (each head starts "
        "uniform and learns where to look). **Stop** keeps the model as it is; either way it becomes *your* model for "
        "the other tabs. {slots} trainings run at a time; others wait in line."
    ),
    "train.text": "Training text",
    "train.text.placeholder": "Paste some text here…",
    "train.use_corpus": "Use Shakespeare (1 MB)",
    "train.upload": "Upload .txt",
    "train.clear": "Clear",
    "train.preset": "Model size",
    "train.preset.fast": "fast",
    "train.preset.tiny": "tiny",
    "train.preset.small": "small",
    "train.preset.medium": "medium",
    "train.preset.fast.note": "tuned for speed: words within a minute (val loss ~1.9 on Shakespeare)",
    "train.preset.tiny.note": "the smallest: the loss falls within seconds",
    "train.preset.small.note": "four layers and a longer context: a few minutes",
    "train.preset.medium.note": "the lecture's model (6 layers x 384): slow on a CPU, made for a GPU",
    "train.start": "Train",
    "train.stop": "Stop",
    "train.advanced": "Advanced settings",
    "train.status": "status",
    "train.status.ready": "Press **Train** to start. The `fast` preset shows results in seconds.",
    "train.loss": "loss",
    "train.samples": "Samples",
    "train.samples.info": "what the model writes at each evaluation, newest first",
    "train.watch_layer": "Layer to watch",
    "train.watch_layer.info": "the attention below is this layer's, refreshed at each evaluation; so is the comparison of two steps further down",
    "train.probe": "attention",
    "train.probe_sentence": "Sentence to watch",
    "train.probe_sentence.info": "its attention is recorded at every evaluation, to replay below",
    "train.probe_sentence.placeholder": "empty: the start of your training text",
    # The form's fields: made from gpt/settings.py below (FORM_TEXTS), so their English is written once.
    # The text's statistics and the plan under the presets (ui/plan.py)
    "train.text.stats": "{chars:,} characters · {char_vocab} distinct characters (the char vocabulary) · {bpe_vocab:,} BPE tokens in use",
    "train.text.none": "No text yet: paste some, upload a .txt file, or use the bundled Shakespeare.",
    "train.text.too_long": "⚠ {chars:,} characters: over the {limit:,} limit. Use a shorter text.",
    "train.plan.parameters": "**{millions:.2f}M parameters** ({vocab:,}-token vocabulary)",
    "train.plan.over": " — ⚠ over the {cap:.0f}M limit: lower n_layer or n_embd",
    "train.plan.over_bpe": " — ⚠ over the {cap:.0f}M limit: lower n_layer or n_embd, or use the char tokenizer",
    "train.plan.step": "about **{step} per step** {where} → {steps:,} steps and {evals} evaluations ≈ **{total}**",
    "train.plan.step.budget": "about **{step} per step** {where} → **≈ {total}** (time budget; about {steps:,} of {max_steps:,} steps, {evals} evaluations)",
    "train.plan.step.close": "about **{step} per step** {where} → {steps:,} steps and {evals} evaluations ≈ **{total}**, close to the {budget} time budget: it may end the run first",
    "train.plan.step.budget.close": "about **{step} per step** {where} → **≈ {total}** (time budget; about {steps:,} of {max_steps:,} steps, {evals} evaluations). The whole run is close to the {budget} budget: it may finish all {max_steps:,} steps first",
    "train.plan.parts": "of which steps {steps_s} · evaluations with their samples and figures {evals_s} · start-up, loss curve and saving {other_s}",
    "train.plan.on_device": "on {device}",
    "train.plan.on_cpu.one": "on this CPU (1 training thread)",
    "train.plan.on_cpu.many": "on this CPU ({threads} training threads)",
    "train.plan.invalid": "⚠ {error}",
    # The run (ui/training.py)
    "train.status.waiting.one": "**Waiting:** 1 training is ahead of yours ({at_once}). Press Stop to leave the queue.",
    "train.status.waiting.many": "**Waiting:** {count} trainings are ahead of yours ({at_once}). Press Stop to leave the queue.",
    "train.status.one_at_a_time": "one runs at a time",
    "train.status.at_a_time": "{slots} run at a time",
    "train.status.cancelled": "Cancelled before it started. Your model is unchanged.",
    "train.status.discarded": "The session ended, so the trained model was discarded.",
    "train.status.starting": "Training a {millions:.2f}M-parameter model on {device} ({precision})…",
    "train.status.step": "**Step {step:,} / {max_steps:,}** · loss {loss:.3f}{val} · {tokens_per_s:,.0f} tokens/s · {elapsed:.1f} s elapsed · about {left:.0f} s left · {device} {precision}",
    "train.status.val": " · val {val:.3f}",
    "train.status.not_started": "Stopped before the first step. Your model is unchanged.",
    "train.status.how.done": "Done",
    "train.status.how.stop": "Stopped",
    "train.status.how.time_budget": "Time budget reached",
    "train.status.kept": " · kept the weights of step {step:,} (val {val:.3f}), the best seen",
    "train.status.overfitting": "  \n⚠ **Overfitting:** the validation loss rose at each of the last 3 evaluations while the training loss fell: the model is learning its text by heart. The best weights so far are those of step {step:,} (val {val:.3f}).",
    "train.status.done": "✓ **{how} at step {step:,}** in {elapsed:.1f} s · loss {loss:.3f}{val}{kept}. This is now your session's model: try it in **Generate** and **Attention**, download it in **Model**.",
    "train.stop.nothing": "Nothing to stop: no training is running or waiting in this session.",
    "train.stop.stopping": "Stopping after the current step…",
    "train.stop.cancelled": "Cancelled: your training had not started. Your model is unchanged.",
    "train.stop.finishing": "Your training has already finished: its model is being saved as your session's model.",
    "train.sample.header": "— step {step} —",
    "train.sample.header_val": "— step {step}, val loss {val:.2f} —",
    # Watching it learn (ui/watch.py, the Train tab's lower part)
    "watch.title": "### Watch it learn",
    "watch.intro": (
        "At every evaluation the app records the attention of **every layer and head** on the sentence to watch, and how "
        "surprised the model is by a slice of the validation text. Move the **step** to replay how the heads formed; tick "
        "**compare** to see what changed between two steps in the layer to watch (red: more attention, blue: less). "
        "Downloading the model keeps the recording."
    ),
    "watch.step": "Step",
    "watch.step.info": "the attention of every head at this step (the nearest recorded one)",
    "watch.compare": "compare with another step",
    "watch.compare_step": "Compared with step",
    "watch.compare_step.info": "the change from this step to the one above, in the layer to watch",
    "watch.replay": "attention at a step",
    "watch.diff": "change in attention",
    "watch.metrics": "head metrics",
    "watch.tags": "head tags",
    "watch.surprise": "surprise",
    "watch.none": "No recording yet: train a model here (or upload one trained in Mirador) to replay how its heads formed.",
    "watch.replay.title": "Every layer and head, at step {step:,}",
    "watch.diff.title": "Layer {layer}: change in attention from step {before:,} to step {after:,}",
    "watch.tags.title": "What each head does at step {step:,} (a tag when one pattern holds at least 60% of its attention):",
    "watch.tag.previous-token": "looks at the previous token",
    "watch.tag.first-token": "looks at the first token",
    "watch.tag.self": "looks at itself",
    "watch.tag.broad": "spreads its attention",
    "watch.tag.none": "no single pattern",
    "watch.surprise.train": "Surprise on the validation text at step {step:,}: {mean:.2f} nats per token on average (a uniform guess: {uniform:.2f}). Pale tokens were expected, dark red ones surprised the model; hover over one (or tap it) for its 5 best guesses.",
    "watch.surprise.prompt": "How surprised the model is by your prompt: {mean:.2f} nats per token on average (a uniform guess: {uniform:.2f}). Pale tokens were expected, dark red ones surprised it; hover over one (or tap it) for its 5 best guesses.",
    "watch.surprise.too_short": "The prompt has a single token: there is nothing before it to predict it from.",
    # The lecture's ladder (ui/ladder.py, ui/ladder_panel.py, viz/ladder.py)
    "ladder.title": "### The lecture's ladder",
    "ladder.intro": (
        "Train the lecture's seven stages on the text above, from scratch, {seconds:g} s each (about {minutes:.0f} min "
        "in all), and compare their validation losses: a bigram table, one attention head, several heads, a "
        "feed-forward network, residual connections, LayerNorm, then a larger model with dropout. Each idea should "
        "lower the loss. It waits its turn and trains as **Train** does; your session's model stays as it is."
    ),
    "ladder.run": "Run the lecture's ladder",
    "ladder.status.starting": "Training the lecture's {count} stages, {seconds:g} s each, on {device}…",
    "ladder.status.stage": "**Stage {number} of {count}: {name}** · step {step:,} · val {val} · {elapsed:.1f} s of {seconds:g}",
    "ladder.status.done": "✓ **The ladder is done:** {count} stages in {elapsed:.0f} s. Your session's model is unchanged.",
    "ladder.status.stopped": "**Stopped.** {done} of {count} stages ran their whole budget. Your session's model is unchanged.",
    "ladder.status.cancelled": "Cancelled before it started. Your model is unchanged.",
    "ladder.stage.bigram": "bigram",
    "ladder.stage.one_head": "one head",
    "ladder.stage.multi_head": "multi-head",
    "ladder.stage.feed_forward": "+ feed-forward",
    "ladder.stage.residual": "+ residual",
    "ladder.stage.layer_norm": "+ LayerNorm",
    "ladder.stage.scaled": "scaled up",
    "ladder.stage.scaled_cpu": "scaled up",
    "ladder.idea.bigram": "the next token from the current one alone: a table of logits",
    "ladder.idea.one_head": "one head of self-attention looks back at the context (8 tokens)",
    "ladder.idea.multi_head": "four smaller heads, each looking for something else",
    "ladder.idea.feed_forward": "a feed-forward network (MLP) after attention",
    "ladder.idea.residual": "residual connections and projections: three blocks stacked",
    "ladder.idea.layer_norm": "LayerNorm before attention, the MLP and the output",
    "ladder.idea.scaled": "6 blocks × 6 heads × 384 wide, context 256, dropout 0.2",
    "ladder.idea.scaled_cpu": "2 blocks × 4 heads × 128 wide, context 32, dropout 0.1 (the lecture's 6 × 384 needs a GPU)",
    "ladder.note": (
        "Each stage trained {seconds:g} s on your text, from scratch; its model is not kept. The lecture's column: its "
        "validation losses on tiny Shakespeare, from its companion repository's commit messages (2023-01-16) and "
        "published reproductions (≈). The lecture trained each stage for 5,000 steps on a GPU, far longer than here."
    ),
    "viz.ladder.title": "Validation loss by stage",
    "viz.ladder.x_axis": "seconds of training",
    "viz.ladder.hover": "%{fullData.name}<br>step %{customdata:,} · %{x:.1f} s<br>val %{y:.3f}",
    "viz.ladder.empty": "The first evaluations arrive in a few seconds",
    "viz.ladder.stage": "stage",
    "viz.ladder.parameters": "parameters",
    "viz.ladder.steps": "steps",
    "viz.ladder.seconds": "seconds",
    "viz.ladder.val_loss": "val loss",
    "viz.ladder.lecture": "lecture's val loss",
    "viz.ladder.stopped": "(stopped)",
    # --- Model ---
    "model.intro": (
        "**Your model.** Every visitor starts with the bundled model, trained on Shakespeare. Training in the Train tab "
        "or uploading a checkpoint here gives *this browser tab* its own model; nobody else sees it, and it is freed "
        "when you close the tab. Checkpoints are `.safetensors` files (weights plus a JSON header; nothing in them can "
        "run code), up to {upload}, {parameters}M parameters and a {context}-token context."
    ),
    "model.download": "Download this model (.safetensors)",
    "model.upload": "Upload a checkpoint (.safetensors)",
    "model.reset": "Reset to the bundled model",
    "model.loaded": "Loaded **{label}**: it is now your session's model.",
    "model.was_reset": "Back to the bundled model.",
    # What a model is called (ui/checkpoints.py, ui/training.py)
    "model.label.bundled": "bundled: {name} ({kind}, {millions:.2f}M parameters)",
    "model.label.untrained": "untrained (no bundled checkpoint found): train one!",
    "model.label.uploaded": "uploaded: {name} ({kind}, {millions:.2f}M parameters)",
    "model.label.trained": "trained here ({kind}, {millions:.2f}M parameters, {steps} steps)",
    # The model card (ui/checkpoints.py)
    "model.card.model": "Model",
    "model.card.parameters": "Parameters",
    "model.card.shape": "Layers × heads × width",
    "model.card.shape.value": "{n_layer} × {n_head} × {n_embd} (head size {head_size})",
    "model.card.context": "Context (block_size)",
    "model.card.context.value": "{block_size} tokens",
    "model.card.tokenizer": "Tokenizer",
    "model.card.tokenizer.value": "{kind} — {vocab:,} tokens ({note})",
    "model.card.tokenizer.char": "one token per character",
    "model.card.tokenizer.bpe": "GPT-2 byte-pair encoding, compacted to the tokens in use",
    "model.card.runs_on": "Runs on",
    "model.card.precision": "Precision",
    "model.card.precision.value": "float32 weights",
    "model.card.precision.trained": "float32 weights; trained in {precision}",
    "model.card.generation": "Generation",
    "generation.precision.bf16": "bfloat16 (approximate)",
    "generation.precision.exact": "float32 (exact)",
    "generation.precision.why.bf16": "bfloat16 copies of the blocks' weights, float32 activations and logits (top-1 agreement with float32 ≥ 99%)",
    "generation.precision.why.small": "this model's weights fit the CPU's cache, where float32 decodes faster than bfloat16",
    "generation.precision.why.no_bf16": "this hardware has no native bfloat16",
    "generation.precision.why.bigram": "a bigram model is one table: nothing to copy",
    "generation.precision.why.asked": "the same tokens as the plain float32 loop",
    "model.card.training": "Training",
    "model.card.field.steps": "steps",
    "model.card.field.kept": "weights kept",
    "model.card.field.best_step": "best step",
    "model.card.field.val_loss": "val loss",
    "model.card.field.last_val_loss": "val loss at the last step",
    "model.card.field.train_loss": "train loss",
    "model.card.field.tokens_per_s": "tokens/s",
    "model.card.field.train_seconds": "seconds",
    "model.card.field.device": "device",
    "model.card.field.stopped_early": "stopped early",
    "model.card.field.text": "training text",
    "model.card.field.example": "it begins",
    "model.card.kept.best": "best",
    "model.card.kept.last": "last",
    "model.card.best": "best weights",
    "model.card.last": "last weights",
    "model.card.checkpoint": "step {step:,} · val loss {val}",
    "model.card.checkpoint.kept": "step {step:,} · val loss {val} · ✓ kept",
    "model.card.overfitting": "overfitting",
    "model.card.overfitting.value": "yes: the validation loss rose at each of the last 3 evaluations while the training loss fell",
    "model.card.yes": "yes",
    "model.card.no": "no",
    "model.card.characters": "{count} characters",
    # Gradio's own texts in the upload box (its keys), said as the app says things
    "upload_text.drop_file": "Drop File Here",
    "upload_text.click_to_upload": "Click to Upload",
    # --- figures (viz/) ---
    "viz.attention.weight": "weight",
    "viz.attention.change": "change",
    "viz.attention.hover": "query %{y} → key %{x}<br>weight %{z:.3f}",
    "viz.attention.diff_hover": "query %{y} → key %{x}<br>change %{z:+.3f}",
    "viz.attention.grid_title": "Layer {layer} attention, one map per head",
    "viz.attention.diff_title": "Layer {layer}: change in attention",
    "viz.attention.head": "head {head}",
    "viz.attention.single_title": "Layer {layer}, head {head} attention",
    "viz.attention.key_axis": "key (attended to)",
    "viz.attention.query_axis": "query (attending)",
    "viz.attention.overview_title": "All layers and heads",
    "viz.attention.layer_short": "L{layer}",
    "viz.attention.head_short": "H{head}",
    "viz.attention.layer_head": "L{layer} H{head}",
    "viz.loss.title": "Loss (lower is better)",
    "viz.loss.train": "train",
    "viz.loss.val": "val",
    "viz.loss.step": "step",
    "viz.loss.train_hover": "step %{x}<br>train %{y:.4f}",
    "viz.loss.val_hover": "step %{x}<br>val %{y:.4f}",
    "viz.loss.y_axis": "cross-entropy loss (nats)",
    "viz.loss.empty": "Press Train to start",
    "viz.next.title": "Most likely next tokens",
    "viz.next.x_axis": "probability",
    "viz.metrics.title": "What each head does, over training",
    "viz.metrics.step": "step",
    "viz.metrics.entropy": "entropy (0 = one key, 1 = uniform)",
    "viz.metrics.previous": "share on the previous token",
    "viz.metrics.first": "share on the first token",
    "viz.metrics.itself": "share on itself",
    "viz.metrics.head": "L{layer} H{head}",
    "viz.metrics.empty": "No snapshots yet",
    "viz.surprise.header": "surprise {surprise:.2f} nats (p = {probability:.1%})",
    "viz.surprise.guesses": "the model expected:",
    "viz.surprise.guess": "{piece}  {probability:.1%}",
    "viz.surprise.first": "the first token: nothing before it to predict it from",
    **LEARN,  # the Learn tab (learn_en.py)
}

# The Train form's fields, in English: the label is the API's name (or the field's own label), the
# tooltip the command line's --help line, both from the schema (gpt/settings.py). es.py translates them.
FORM_TEXTS = {
    key: text
    for name in FORM_FIELDS
    for key, text in (
        (f"train.field.{name}.label", TrainingSettings.spec(name).label or name),
        (f"train.field.{name}.info", TrainingSettings.spec(name).help),
    )
}
TEXTS.update(FORM_TEXTS)

# The app's own error messages (what API clients read, in English): key -> template. The library's
# are in gpt/messages.py; locales/__init__.py joins the two into the English error catalogue.
ERRORS = {
    # Texts: the prompt, the attention's text, the Learn tab's sentence (ui/generation.py, ui/attention.py, ui/learn.py)
    "generate.prompt_empty": "The prompt is empty: type a few characters for the model to continue.",
    "generate.prompt_too_long": "The prompt is {count:,} characters; the limit is {limit:,}. Use a shorter prompt.",
    "generate.temperature_hint": "Use 0 for greedy, about 0.8 for lively text, 1 for the model's own odds.",
    "generate.top_k_hint": "Use 0 to turn top-k off.",
    "generate.top_p_hint": "Use 1.0 to turn top-p off.",
    "attention.text_empty": "The text is empty: type a sentence to look at.",
    "attention.text_too_long": "The text is {count:,} characters; the limit is {limit:,}. Use a shorter text.",
    "attention.no_tokens": "The text has no tokens: type a sentence to look at.",
    "attention.layer_hint": "This model has {count} layer(s), numbered 0 to {last}.",
    "attention.head_hint": "This model has {count} head(s) per layer, numbered 0 to {last}.",
    "learn.sentence_empty": "The sentence is empty: type a sentence to look at.",
    "learn.sentence_too_long": "The sentence is {count:,} characters; the limit is {limit:,}. Use a shorter sentence.",
    "learn.no_tokens": "The sentence has no tokens: type a sentence to look at.",
    "learn.earlier_stage": (
        "The Learn page follows the full GPT, and this model is one of the lecture's earlier stages. "
        "Load or train a full model to follow it."
    ),
    # A training (ui/train_form.py, ui/limits.py, ui/training.py, ui/sessions.py, ui/training_queue.py)
    "train.text_empty": "The training text is empty: paste some text, upload a .txt file, or use the bundled Shakespeare.",
    "train.text_too_long": "The training text is {count:,} characters; the limit is {limit:,}. Use a shorter training text.",
    "train.text_whitespace": "The training text is only whitespace: paste some text with words in it.",
    "train.tokens_per_step": "batch_size x block_size is {tokens:,} tokens per step; the limit is {limit:,}. Lower batch_size or block_size.",
    "train.probe_too_long": "The probe sentence is {count:,} characters; the limit is {limit:,}. Use a shorter probe sentence.",
    "train.max_steps_hint": "That is the per-run limit: choose fewer steps.",
    "train.time_budget_hint": "Runs are limited to {seconds:.0f} s: choose a shorter budget.",
    "train.too_many_parameters": "This model would have {count:,} parameters; the limit is {limit:,}.",
    "train.lower_shape": "Lower n_layer or n_embd.",
    "train.lower_shape_bpe": (
        "Lower n_layer or n_embd or use the char tokenizer (BPE's vocabulary adds a row of n_embd weights per token)."
    ),
    "train.session_keeps_model": "Your session keeps its previous model.",
    "train.already_running": (
        "You already have a training running or waiting in this session: press Stop first, or wait for it to finish."
    ),
    "train.queue_full": "{count} trainings are already waiting (the limit is {limit}). Try again in a few minutes.",
    # Files: checkpoints and texts (ui/checkpoints.py)
    "upload.no_checkpoint": "No file received: choose a .safetensors checkpoint to upload.",
    "upload.not_safetensors": (
        "{file} is not a .safetensors file. Only Mirador checkpoints in safetensors format are accepted "
        "(pickled .pt/.bin files could run code when loaded)."
    ),
    "upload.too_big": "{file} is {size}; the upload limit is {limit}. Upload a smaller model.",
    "upload.too_many_parameters": "{file} has {count:,} parameters; this app serves at most {limit:,}. Upload a smaller model.",
    "upload.context_too_long": (
        "{file} has a context of {count} tokens; this app serves at most {limit}. Upload a model with a shorter block_size."
    ),
    "upload.no_text_file": "No file received: choose a .txt file.",
    "upload.not_text_file": "{file} is not a text file: upload a .txt file.",
    "upload.text_too_big": "{file} is {size}; text uploads are limited to {limit}. Use a shorter text.",
    "upload.not_utf8": "{file} is not UTF-8 text: save it as UTF-8 and upload it again.",
    "upload.too_many_chars": "{file} has {count:,} characters; the limit is {limit:,}. Use a shorter text.",
    "upload.empty": "{file} is empty: upload a file with some text in it.",
    "model.untrained_note": "{path} was not found: this model is untrained (random weights).",
}
