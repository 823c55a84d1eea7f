"""English: the Learn tab's strings (merged into en.py's TEXTS; the same keys as learn_es.py).

Keys: learn.sN.title / learn.sN.text are section N's heading and text (Markdown, $…$ is math);
learn.fig.* are the words the figures write (hover templates keep Plotly's %{…} as they are).
"""

TEXTS = {
    # The page and its controls.
    "learn.intro": (
        "**How this GPT works, one step at a time**, in the order of the article and the lecture. Every figure is "
        "computed live from **your current model** (the bundled one, or the one you trained or uploaded) on "
        "**the sentence you type here**. Beside each idea: its equation, and the lines of Mirador's own code that "
        "compute it."
    ),
    "learn.sentence.label": "Your sentence",
    "learn.sentence.info": "Press Enter or the button to look at it. Long sentences are cut to the first tokens.",
    "learn.show": "Look inside",
    "learn.layer.label": "Layer",
    "learn.layer.info": "for sections 4 to 7",
    "learn.head.label": "Head",
    "learn.head.info": "for section 4",
    "learn.position.label": "Token (position)",
    "learn.position.info": "the token that asks, in sections 4 to 8 and 10; 0 is the first",
    "learn.code.label": "Mirador's code",
    "learn.sampling.temperature": "temperature",
    "learn.sampling.temperature.info": "0 = always the likeliest token",
    "learn.sampling.top_k": "top_k",
    "learn.sampling.top_k.info": "0 = off",
    "learn.sampling.top_p": "top_p",
    "learn.sampling.top_p.info": "1.0 = off",
    "learn.note.cut_context": (
        "The sentence has {total} tokens; the page looks at the first {shown}: the model's context is {context} tokens."
    ),
    "learn.note.cut_view": "The sentence has {total} tokens; the page looks at the first {shown}: the figures show at most {shown}.",
    # 1. Text to tokens.
    "learn.s1.title": "## 1 · From text to tokens",
    "learn.s1.text": (
        "A model reads numbers, not letters. A **tokenizer** cuts the text into **tokens** and gives each one an "
        "id: its row in the **vocabulary**. The `char` tokenizer (the article's) makes one token per character: a "
        "tiny vocabulary and long sequences. `bpe` (GPT-2's byte-pair encoding) merges frequent pieces into one "
        "token: shorter sequences, but thousands of tokens, and each costs a row of `n_embd` numbers in the "
        "embedding (the head reuses that same matrix: weight tying). BPE works on UTF-8 bytes, so a character "
        "its vocabulary lacks, like “ñ” or “¿”, is spelled as its bytes (“ñ” is ‹C3›‹B1›)."
    ),
    # 2. The bigram baseline.
    "learn.s2.title": "## 2 · The baseline: a bigram model",
    "learn.s2.text": (
        "The simplest language model, the article's first, is a **bigram model**: it predicts the next token "
        "from the current one alone, like a table of which letter tends to follow which. Below, your model sees "
        "only the last token of the sentence, then the whole sentence: the difference is what context buys. "
        "Before any training, a fair guess gives each of the $V$ tokens probability $1/V$, and its loss is "
        "$\\ln V$: the number every model must beat."
    ),
    # 3. Embeddings and positions.
    "learn.s3.title": "## 3 · Embeddings and positions",
    "learn.s3.text": (
        "Each token id picks a row of the **embedding** matrix $E$: a vector of `n_embd` numbers that training "
        "moves so that tokens used alike end up close. A second matrix $P$ gives each **position** a vector of "
        "its own, added to the token's, because attention by itself does not know the order of the words. Below: "
        "the token embeddings flattened to two dimensions by PCA (hover for the token; your sentence's are "
        "labelled), and how alike the position vectors are (cosine similarity)."
    ),
    # 4. One head.
    "learn.s4.title": "## 4 · One head of self-attention, step by step",
    "learn.s4.text": (
        "In **self-attention** each token asks a question. Three linear maps of its vector give a **query** $q$ "
        "(what am I looking for?), a **key** $k$ (what do I offer?) and a **value** $v$ (what do I pass on?). "
        "The query is compared with every key by a dot product, divided by $\\sqrt{d}$ ($d$: the head size) so the "
        "scores do not grow with $d$. The **causal mask** sets the scores of later tokens to $-\\infty$, so a token "
        "never sees the future; the **softmax** turns the row into weights that add up to 1; the output is the "
        "weighted sum of the values. Choose the layer, the head and the token at the top of the page."
    ),
    # 5. Multi-head.
    "learn.s5.title": "## 5 · Multi-head attention",
    "learn.s5.text": (
        "One head learns one habit; **multi-head attention** runs several in parallel, each on its own slice of "
        "the vector (head size = `n_embd / n_head`). Here are all the heads of the chosen layer, each looking at "
        "different tokens. Their outputs are laid side by side (concatenated) into one vector of `n_embd` "
        "numbers, and a last linear map, the output projection $W^O$, mixes them into what attention adds to the "
        "residual stream."
    ),
    # 6. Feed-forward.
    "learn.s6.title": "## 6 · The feed-forward network",
    "learn.s6.text": (
        "Attention lets the tokens talk to each other; the **feed-forward network (MLP)** then lets each token "
        "think on its own. It widens the vector 4 times, applies a **GELU** (a smooth ReLU: positive numbers pass, "
        "negative ones are squashed to about 0) and projects it back. Each hidden unit acts as a small detector. "
        "Below: the GELU with the chosen token's hidden units on it, and the units of the chosen layer that fire "
        "most, on which tokens of your sentence."
    ),
    # 7. Residual stream and LayerNorm.
    "learn.s7.title": "## 7 · The residual stream and LayerNorm",
    "learn.s7.text": (
        "A block does not replace a token's vector: it **adds** to it. This running sum is the **residual "
        "stream**, and the additions are the **residual connections**: they let the signal, and its gradient, "
        "pass through many layers. Before attention and before the MLP, **LayerNorm** rescales each token's "
        "vector to mean 0 and spread 1 across its numbers, then applies a learned gain $\\gamma$ and shift "
        "$\\beta$, so each sublayer reads numbers of a steady size however the stream grows. Below: the stream's "
        "size after each step, and the mean and spread before and after each LayerNorm."
    ),
    # 8. Logit lens.
    "learn.s8.title": "## 8 · The logit lens: predicting after each layer",
    "learn.s8.text": (
        "Only the end of the stream becomes a prediction. But the same final LayerNorm and head can be applied to "
        "the stream after every layer: this is the **logit lens**. It shows what the model would predict if it "
        "stopped there, and how the guess sharpens layer after layer; the last row is the model's real "
        "prediction. The token is the one chosen at the top; the real next token of your sentence, when there is "
        "one, is shaded."
    ),
    # 9. Sampling.
    "learn.s9.title": "## 9 · From logits to a token",
    "learn.s9.text": (
        "At the end of the sentence the model gives one **logit** per token of the vocabulary, and the **softmax** "
        "turns them into probabilities. Generating means drawing the next token from them, after three optional "
        "changes applied in this order, as the Generate tab does: the **temperature** $T$ divides the logits "
        "(below 1 sharpens, above 1 flattens; 0 always takes the likeliest token), **top-k** keeps the $k$ "
        "likeliest tokens, and **top-p** the fewest likeliest tokens whose probabilities add up to at least $p$. The "
        "others get 0, and the rest is scaled back up to add up to 1."
    ),
    # 10. Loss and dropout.
    "learn.s10.title": "## 10 · Training: the loss and dropout",
    "learn.s10.text": (
        "Training shows the model text and measures its **surprise** at each real next token, $-\\ln p$: 0 when it "
        "was sure and right, large when it gave that token little probability. The mean is the **cross-entropy "
        "loss**. A new model starts with small random weights (standard deviation 0.02), so its logits are all "
        "near 0, the softmax is nearly uniform and the loss starts near $\\ln V$; training pushes it down. "
        "**Dropout** fights overfitting: while training it zeroes each number with probability $p$ and scales "
        "the others by $1/(1-p)$, so their expected sum stays the same; at evaluation (and whenever this app "
        "generates or looks) nothing is dropped."
    ),
    # Words of the figures.
    "learn.fig.value": "value",
    "learn.fig.dimension": "dimension",
    "learn.fig.score": "score",
    "learn.fig.weight": "weight",
    "learn.fig.probability": "probability",
    "learn.fig.tokens.unknown": "“{char}” is not in this vocabulary",
    "learn.fig.tokens.piece_of": "id {id}: bytes of “{char}”",
    "learn.fig.tokens.id": "id {id}",
    "learn.fig.tokens.vocab": "vocabulary",
    "learn.fig.tokens.length": "tokens",
    "learn.fig.tokens.embedding": "embedding",
    "learn.fig.tokens.params": "{v} × {c} = {n} parameters",
    "learn.fig.tokens.head": "head",
    "learn.fig.tokens.tied": "the same matrix (tied), 0 more",
    "learn.fig.tokens.more": "… and {n} more tokens",
    "learn.fig.tokens.unknown_note": "{n} character(s) in red are not in this vocabulary: a char model cannot read them.",
    "learn.fig.tokens.own": "this model's tokenizer",
    "learn.fig.tokens.reference": "fitted to the app's bundled text, for comparison",
    "learn.fig.tokens.example_char": "char",
    "learn.fig.tokens.example_bpe": "bpe (as above)",
    "learn.fig.tokens.example_gpt2": "GPT-2's full BPE ({n} tokens)",
    "learn.fig.tokens.count": "{n} tokens",
    "learn.fig.tokens.example_title": "In Spanish: {sentence}",
    "learn.fig.tokens.example_sub": "orange chips are bytes of one character (hover to see which)",
    "learn.fig.qkv.title": "Query, keys and values of this head, for “{token}”",
    "learn.fig.qkv.query": "query q of “{token}”",
    "learn.fig.qkv.keys": "keys K (one row per token)",
    "learn.fig.qkv.values": "values V",
    "learn.fig.qkv.hover": "%{y}, dimension %{x}: %{z:.3f}",
    "learn.fig.scores.title": "Scores q·kᵀ/√d, and the causal mask (row of “{token}” outlined)",
    "learn.fig.scores.before": "scores",
    "learn.fig.scores.after": "after the mask (grey: −∞)",
    "learn.fig.scores.hover": "query %{y} → key %{x}<br>score %{z:.3f}",
    "learn.fig.softmax.title": "Softmax of the row: weights (they add up to {total})",
    "learn.fig.softmax.hover": "key %{x}<br>score %{customdata:.3f} → weight %{y:.3f}",
    "learn.fig.sum.title": "Weighted sum of the values: the head's output for “{token}”",
    "learn.fig.sum.row": "{weight} × v({token})",
    "learn.fig.sum.output": "= output",
    "learn.fig.sum.output_rest": "= output (with {n} more)",
    "learn.fig.heads.title": "Every head of layer {layer} (the chosen token's row outlined)",
    "learn.fig.heads.hover": "query %{y} → key %{x}<br>weight %{z:.3f}",
    "learn.fig.heads.head": "head {head}",
    "learn.fig.heads.head_short": "h{head}",
    "learn.fig.proj.title": "Concatenate the heads, then project (token “{token}”)",
    "learn.fig.proj.hover_head": "head %{customdata}, dimension %{x}: %{z:.3f}",
    "learn.fig.proj.concat": "the {n} heads' outputs, side by side",
    "learn.fig.proj.projected": "after the output projection Wᴼ: what attention adds to the stream",
    "learn.fig.embed.title": "Token embeddings in 2-D (PCA)",
    "learn.fig.embed.axis": "component {n} ({share} of the variance)",
    "learn.fig.embed.vocabulary": "vocabulary",
    "learn.fig.embed.sentence": "your sentence",
    "learn.fig.positions.title": "Similarity of the position embeddings",
    "learn.fig.positions.cosine": "cosine",
    "learn.fig.positions.axis": "position",
    "learn.fig.positions.hover": "positions %{y} and %{x}: %{z:.2f}",
    "learn.fig.gelu.curve": "GELU",
    "learn.fig.gelu.title": "GELU on the {wide} hidden units of “{token}” (widened from {narrow})",
    "learn.fig.gelu.before": "before the GELU",
    "learn.fig.gelu.after": "after",
    "learn.fig.gelu.units": "{n} hidden units",
    "learn.fig.gelu.hover": "unit %{customdata}: %{x:.2f} → %{y:.2f}",
    "learn.fig.units.title": "Layer {layer}: the hidden units that fire most",
    "learn.fig.units.unit": "unit {unit}",
    "learn.fig.units.activation": "activation",
    "learn.fig.units.hover": "%{y} on %{x}: %{z:.2f}",
    "learn.fig.norm.title": "Size of the residual stream, step by step",
    "learn.fig.norm.mean": "mean over the tokens",
    "learn.fig.norm.token": "“{token}”",
    "learn.fig.norm.embeddings": "embeddings",
    "learn.fig.norm.attn": "+ attention {layer}",
    "learn.fig.norm.mlp": "+ MLP {layer}",
    "learn.fig.ln.title": "Before and after each LayerNorm",
    "learn.fig.ln.mean": "mean",
    "learn.fig.ln.spread": "spread (standard deviation)",
    "learn.fig.ln.before": "before",
    "learn.fig.ln.after": "after",
    "learn.fig.ln.name1": "L{layer} ln_1",
    "learn.fig.ln.name2": "L{layer} ln_2",
    "learn.fig.ln.final": "ln_f",
    "learn.fig.lens.heading": "What the model would predict after token {position}, “{token}”, if it stopped after each layer:",
    "learn.fig.lens.stage": "stream",
    "learn.fig.lens.rank": "#{n}",
    "learn.fig.lens.target": "real next token “{token}”",
    "learn.fig.lens.embeddings": "embeddings only",
    "learn.fig.lens.after": "after layer {layer}",
    "learn.fig.lens.final": "after layer {layer} (the model's prediction)",
    "learn.fig.bigram.title": "What comes after “{token}”?",
    "learn.fig.bigram.alone": "from “{token}” alone",
    "learn.fig.bigram.context": "from the whole sentence",
    "learn.fig.bigram.uniform": "uniform guess, ln V",
    "learn.fig.bigram.alone_loss": "from each token alone",
    "learn.fig.bigram.context_loss": "with all the tokens before",
    "learn.fig.bigram.one_token": "Type at least two tokens to see the model's loss on your sentence.",
    "learn.fig.bigram.units": "Losses on your sentence, in nats (natural logarithm): lower is better.",
    "learn.fig.sampling.title": "The next token's probabilities, stage by stage (end of your sentence)",
    "learn.fig.sampling.others": "all others",
    "learn.fig.sampling.softmax": "1 · softmax of the logits",
    "learn.fig.sampling.greedy": "2 · temperature 0: greedy",
    "learn.fig.sampling.temperature": "2 · temperature {value}",
    "learn.fig.sampling.top_k": "3 · top-k, k = {value}",
    "learn.fig.sampling.top_k_off": "3 · top-k: off",
    "learn.fig.sampling.top_p": "4 · top-p, p = {value}",
    "learn.fig.sampling.top_p_off": "4 · top-p: off",
    "learn.fig.surprise.title": "Surprise at each real next token",
    "learn.fig.surprise.axis": "−ln p (nats)",
    "learn.fig.surprise.bars": "surprise",
    "learn.fig.surprise.loss": "mean = the loss, {value}",
    "learn.fig.surprise.uniform": "ln V = {value}",
    "learn.fig.surprise.hover": "predicting %{x}<br>p = %{customdata:.1%}, −ln p = %{y:.2f}",
    "learn.fig.dropout.title": "Dropout on “{token}”'s vector: {zeroed} of {total} zeroed, the rest × {scale}",
    "learn.fig.dropout.eval": "evaluation: unchanged",
    "learn.fig.dropout.train": "training, p = {p}: one random draw",
    "learn.fig.dropout.example": "this model trained without dropout: shown with p = {p}",
}
