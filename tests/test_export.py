"""Hugging Face export and import (gpt/export.py): the exported folder, loaded by transformers,
computes Mirador's logits, attention maps and greedy text; GPT-2's tokenizer is rebuilt
exactly; a model trained further in transformers comes back; anything Mirador cannot read
is refused with a message. transformers is a test-only dependency; nothing is downloaded."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: never reach the Hub

import pytest
import torch
from transformers import AutoTokenizer, GPT2LMHeadModel, pipeline

from gpt import GPT, BPETokenizer, CharTokenizer, GPTConfig, load, save
from gpt import export as export_cli
from gpt.export import MIRADOR_JSON, export_to_hf, import_from_hf
from gpt.hf_weights import MARGIN, never_winning_rows
from gpt.tokenizer import gpt2_encoding
from ui import checkpoints, limits

ROOT = Path(__file__).resolve().parent.parent
TEXT = (
    "The quick brown fox jumps over the lazy dog. It was the best of times, it was the "
    "worst of times; to be, or not to be, that is the question. Hello world, hello again!\n"
)
PROMPT = "The quick brown fox"  # words the training text has, tokenized alike by both tokenizers

pytestmark = pytest.mark.usefixtures("one_thread")


def seeded_model(vocab_size: int, seed: int = 0) -> GPT:
    """A model whose predictions depend on every weight: drawn wider than GPT's init, LayerNorm
    gains and biases off their defaults (an untrained ln_f bias would make BPE export refuse)."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=16))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(0.5 * noise if p.dim() == 2 else (1 + 0.1 * noise if name.endswith("weight") else 0.1 * noise))
    return model.eval()


def make_tokenizer(kind):
    return CharTokenizer.from_text(TEXT) if kind == "char" else BPETokenizer.from_text(TEXT)


META = {"steps": 42, "val_loss": 1.5, "text": "a|b\nc.txt", "train_config": {"learning_rate": 0.003, "batch_size": 8}}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{kind: (kind, mirador model, tokenizer, checkpoint path, exported folder)}, built once."""
    out = {}
    for kind in ("char", "bpe"):
        root = tmp_path_factory.mktemp(f"export-{kind}")
        tok = make_tokenizer(kind)
        model = seeded_model(tok.vocab_size)
        ckpt = save(root / f"{kind}.safetensors", model, tok, META)
        out[kind] = (kind, model, tok, ckpt, export_to_hf(ckpt, root / "hf"))
    return out


@pytest.fixture(params=["char", "bpe"])
def exported(request, exports):
    return exports[request.param]


def hf_model(folder, **kwargs) -> GPT2LMHeadModel:
    return GPT2LMHeadModel.from_pretrained(folder, local_files_only=True, **kwargs).eval()


def gpt2_ids(tok, compact_ids):
    """Our ids as the exported model's: GPT-2's for BPE, the same for char."""
    ids = torch.as_tensor(compact_ids)
    return torch.as_tensor(tok.gpt2_ids)[ids] if isinstance(tok, BPETokenizer) else ids


def random_batch(tok, seed=1):
    return torch.randint(0, tok.vocab_size, (3, 32), generator=torch.Generator().manual_seed(seed))


def test_logits_equal_mirador_and_untrained_ids_never_win(exported):
    kind, model, tok, _, folder = exported
    idx = random_batch(tok)
    with torch.no_grad():
        ours = model(idx)[0]
        theirs = hf_model(folder)(gpt2_ids(tok, idx)).logits
    if kind == "bpe":
        assert theirs.shape[-1] == 50257
        trained = torch.as_tensor(tok.gpt2_ids)
        untrained = torch.ones(50257, dtype=torch.bool)
        untrained[trained] = False
        best_trained = theirs[..., trained].max(dim=-1).values  # (B, T)
        # one constant for every untrained id and every input, MARGIN below the best trained token
        assert torch.allclose(theirs[..., untrained], theirs[0, 0, untrained][0], atol=1e-3)
        assert (theirs[..., untrained].max(dim=-1).values < best_trained - MARGIN).all()
        assert torch.softmax(theirs, -1)[..., untrained].sum(-1).max() < 1e-8
        theirs = theirs[..., trained]
    assert theirs.shape == ours.shape
    assert torch.allclose(theirs, ours, atol=1e-4), (theirs - ours).abs().max()


def test_attention_maps_equal_mirador(exported):
    _, model, tok, _, folder = exported
    idx = random_batch(tok, seed=2)
    with torch.no_grad():
        maps = model(idx, return_attention=True)[2]  # (n_layer, B, nh, T, T)
        out = hf_model(folder, attn_implementation="eager")(gpt2_ids(tok, idx), output_attentions=True)
    theirs = torch.stack(out.attentions)
    assert theirs.shape == maps.shape
    assert torch.allclose(theirs, maps, atol=1e-5), (theirs - maps).abs().max()


def test_pipeline_greedy_text_equals_mirador_greedy(exported):
    _, model, tok, _, folder = exported
    hf_tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    prompt = tok.encode(PROMPT)
    assert hf_tok(PROMPT)["input_ids"] == gpt2_ids(tok, prompt).tolist()
    new = 32 - len(prompt)  # transformers stops at the context (Mirador would slide on)
    ours = tok.decode(model.generate(torch.tensor([prompt]), new, temperature=0)[0].tolist())
    generate = pipeline("text-generation", model=hf_model(folder), tokenizer=hf_tok)
    theirs = generate(PROMPT, max_new_tokens=new, do_sample=False)[0]["generated_text"]
    assert theirs == ours
    assert len(ours) > len(PROMPT)


def test_bpe_tokenizer_is_gpt2s_own(exported):
    kind, _, tok, _, folder = exported
    hf_tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    text = "Hello world!  It's 2024: naïve café, 日本語 😀\n\n\tspaces   end 've 'LL\r\n"
    if kind == "bpe":
        ids = hf_tok(text)["input_ids"]
        assert ids == gpt2_encoding().encode_ordinary(text)
        assert hf_tok.decode(ids) == text
        assert hf_tok.eos_token_id == 50256
    else:
        ids = hf_tok(TEXT)["input_ids"]
        assert ids == tok.encode(TEXT)
        assert hf_tok.decode(ids) == TEXT
        with pytest.raises(Exception, match="UNK"):  # an unseen character is an error, as in Mirador
            hf_tok("Zebra")


def test_model_card_carries_the_training_metadata(exported):
    kind, _, tok, _, folder = exported
    card = (folder / "README.md").read_text(encoding="utf-8")
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    assert "library_name: transformers" in front and "pipeline_tag: text-generation" in front
    assert "| steps | 42 |" in body and "| val\\_loss | 1.5 |" in body
    assert "| learning\\_rate | 0.003 |" in body
    assert "a\\|b c.txt" in body  # a value cannot break out of its table cell
    assert "huggingface-cli upload" in body
    assert ("never predicted" in body) == (kind == "bpe")
    record = json.loads((folder / MIRADOR_JSON).read_text(encoding="utf-8"))
    assert record["tokenizer"] == tok.to_dict() and record["meta"] == META


def test_never_winning_row_is_a_constant_far_below_every_trained_logit():
    gen = torch.Generator().manual_seed(0)
    C, K = 24, 500
    embedding = torch.randn(K, C, generator=gen)
    gamma = 1 + 0.3 * torch.randn(C, generator=gen)
    beta = 0.05 * torch.randn(C, generator=gen)
    row = never_winning_rows(embedding, gamma, beta)
    ln = torch.nn.LayerNorm(C)
    with torch.no_grad():
        ln.weight.copy_(gamma)
        ln.bias.copy_(beta)
        x = torch.randn(4000, C, generator=gen) * torch.logspace(-3, 3, 4000).unsqueeze(1)  # tiny to huge inputs
        x[:100] = embedding[:100] * 50  # inputs aligned with trained tokens
        y = ln(x)
    logit = y @ row
    assert logit.max() - logit.min() < 1e-2  # the same for every input
    assert (logit < (y @ embedding.T).max(dim=1).values - MARGIN).all()


def test_bpe_export_refuses_a_model_whose_final_layernorm_never_trained(tmp_path):
    tok = make_tokenizer("bpe")
    torch.manual_seed(0)
    fresh = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=16))  # ln_f bias = 0
    ckpt = save(tmp_path / "fresh.safetensors", fresh, tok)
    with pytest.raises(ValueError, match="train the model"):
        export_to_hf(ckpt, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()  # nothing half-written


def fine_tune(model, tok, steps=3):
    """A few AdamW steps in transformers on the training text, as a user would."""
    ids = gpt2_ids(tok, tok.encode(TEXT * 2))
    batch = torch.stack([ids[i : i + 32] for i in range(0, 4 * 5, 5)])  # (4, 32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_a_model_trained_further_in_transformers_comes_back(exported, tmp_path):
    kind, model, tok, _, exported_folder = exported
    folder = Path(shutil.copytree(exported_folder, tmp_path / "hf"))
    tuned = fine_tune(hf_model(folder), tok)
    tuned.save_pretrained(folder)  # beside the tokenizer files and mirador.json the export wrote
    AutoTokenizer.from_pretrained(folder, local_files_only=True).save_pretrained(folder)  # as a Trainer would
    assert (folder / MIRADOR_JSON).is_file()
    out = import_from_hf(folder, tmp_path / "back.safetensors", max_parameters=limits.MAX_SERVED_PARAMETERS)
    back, back_tok, meta = load(out)
    assert back_tok.to_dict() == tok.to_dict()  # the same vocabulary as before the export
    assert meta["imported_from"] == "hf" and meta["meta_at_export"] == META
    idx = random_batch(tok, seed=3)
    with torch.no_grad():
        theirs = tuned(gpt2_ids(tok, idx)).logits
        if kind == "bpe":
            theirs = theirs[..., torch.as_tensor(tok.gpt2_ids)]
        ours, before = back(idx)[0], model(idx)[0]
    assert torch.allclose(ours, theirs, atol=1e-4), (ours - theirs).abs().max()
    assert (ours - before).abs().max() > 1e-2  # the training in transformers came back with it
    handle = checkpoints.load_upload(out)  # the app's Model tab accepts it
    assert handle.tokenizer.to_dict() == tok.to_dict()


def test_without_mirador_json_a_bpe_model_keeps_every_gpt2_id(exports, tmp_path):
    _, _, tok, _, exported_folder = exports["bpe"]  # (a char folder's vocabulary is its tokenizer.json)
    folder = Path(shutil.copytree(exported_folder, tmp_path / "hf"))
    (folder / MIRADOR_JSON).unlink()
    back, back_tok, _ = load(import_from_hf(folder, tmp_path / "all.safetensors"))
    assert back_tok.vocab_size == 50257 and back_tok.gpt2_ids.tolist() == list(range(50257))
    idx = gpt2_ids(tok, random_batch(tok, seed=4))
    with torch.no_grad():
        assert torch.allclose(back(idx)[0], hf_model(folder)(idx).logits, atol=1e-4)


def test_gpt2s_tokenizer_as_vocab_json_and_merges_txt_is_read_too(exports, tmp_path):
    """GPT-2's own folders carry vocab.json + merges.txt (the slow tokenizer's files)."""
    from tokenizers import Tokenizer

    _, model, tok, _, exported_folder = exports["bpe"]
    folder = Path(shutil.copytree(exported_folder, tmp_path / "hf"))
    Tokenizer.from_file(str(folder / "tokenizer.json")).model.save(str(folder))  # tokenizers' own writer
    (folder / "tokenizer.json").unlink()
    assert (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()
    back, back_tok, _ = load(import_from_hf(folder, tmp_path / "slow.safetensors"))
    assert back_tok.to_dict() == tok.to_dict()
    idx = random_batch(tok, seed=5)
    with torch.no_grad():
        assert torch.equal(back(idx)[0], model(idx)[0])


def mangle(folder: Path, kind: str):
    if kind == "no tokenizer":
        (folder / "tokenizer.json").unlink()
    elif kind == "another tokenizer":
        data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        data["model"] = {"type": "WordPiece", "vocab": {"[UNK]": 0, "he": 1}, "unk_token": "[UNK]"}
        (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    elif kind == "GPT-2 tokens, another split":
        data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        data["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
        (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    elif kind == "GPT-2 vocabulary with other merges":
        data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        data["model"]["merges"] = data["model"]["merges"][1:] if data["model"]["type"] == "BPE" else []
        data["model"]["type"] = "BPE"
        (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    "damage", ["no tokenizer", "another tokenizer", "GPT-2 vocabulary with other merges", "GPT-2 tokens, another split"]
)
def test_a_folder_without_a_tokenizer_mirador_reads_is_refused(exported, tmp_path, damage, capsys):
    folder = Path(shutil.copytree(exported[4], tmp_path / "hf"))
    mangle(folder, damage)
    out = tmp_path / "x.safetensors"
    with pytest.raises(ValueError, match="no tokenizer Mirador can read") as info:
        import_from_hf(folder, out)
    assert "GPT-2's BPE" in str(info.value) and "character-level" in str(info.value)
    assert export_cli.main(["--from-hf", str(folder), str(out)]) == 2
    assert "no tokenizer Mirador can read" in capsys.readouterr().err
    assert not out.exists()


def test_caps_refuse_with_a_message(exported, tmp_path, capsys):
    folder = Path(shutil.copytree(exported[4], tmp_path / "hf"))
    with pytest.raises(ValueError, match="over the cap of 1,000"):
        import_from_hf(folder, tmp_path / "a.safetensors", max_parameters=1000)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "n_positions": 512}))
    cap = ["--max-block-size", str(limits.MAX_SERVED_BLOCK_SIZE)]
    assert export_cli.main(["--from-hf", str(folder), str(tmp_path / "b.safetensors"), *cap]) == 2
    assert "context of 512 tokens, over the cap of 256" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, words",
    [
        ({"model_type": "llama"}, "'llama' model"),
        ({"activation_function": "relu"}, "activation_function is 'relu'"),
        ({"tie_word_embeddings": False}, "tie_word_embeddings"),
        ({"n_head": 3}, "divisible by n_head"),
    ],
)
def test_other_architectures_are_refused(exported, tmp_path, change, words):
    folder = Path(shutil.copytree(exported[4], tmp_path / "hf"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(ValueError, match=words):
        import_from_hf(folder, tmp_path / "x.safetensors")


def test_tanh_gelu_is_imported_with_a_note_and_pickles_are_never_read(exported, tmp_path, capsys):
    folder = Path(shutil.copytree(exported[4], tmp_path / "hf"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "activation_function": "gelu_new"}))
    assert export_cli.main(["--from-hf", str(folder), str(tmp_path / "tanh.safetensors")]) == 0
    assert "note: Imported from a model using GELU's tanh approximation" in capsys.readouterr().err
    _, _, meta = load(tmp_path / "tanh.safetensors")
    assert "tanh approximation" in meta["note"]
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")  # as if pickled
    with pytest.raises(ValueError, match="pickled"):
        import_from_hf(folder, tmp_path / "bin.safetensors")


def test_cli_exit_codes_and_messages(exported, tmp_path, capsys):
    ckpt = Path(shutil.copy(exported[3], tmp_path / "model.safetensors"))
    folder = Path(shutil.copytree(exported[4], tmp_path / "hf"))
    cases = [
        (["no-such.safetensors", str(tmp_path / "a")], "No checkpoint at no-such.safetensors"),
        ([str(ckpt), str(folder)], "is not empty"),
        ([str(ckpt), str(ckpt)], "is a file"),
        ([str(ckpt), str(tmp_path / "missing" / "out")], "No folder"),
        (["--from-hf", str(tmp_path / "nowhere"), str(tmp_path / "b.safetensors")], "No folder at"),
        (["--from-hf", str(folder), str(tmp_path / "b.pt")], "must end in .safetensors"),
        (["--from-hf", str(folder), str(ckpt)], "exists"),
        (["--from-hf", str(tmp_path), str(tmp_path / "c.safetensors")], "has no config.json"),
    ]
    for argv, words in cases:
        assert export_cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err, (argv, err)
    assert export_cli.main([str(ckpt), str(folder), "--overwrite"]) == 0
    assert export_cli.main(["--from-hf", str(folder), str(ckpt), "--overwrite"]) == 0
    assert "wrote" in capsys.readouterr().err


def test_python_m_gpt_export_runs_without_transformers(tmp_path):
    tok = make_tokenizer("char")
    ckpt = save(tmp_path / "m.safetensors", seeded_model(tok.vocab_size), tok)
    block = "import sys; sys.modules['transformers'] = sys.modules['tokenizers'] = None; import runpy; "
    run = "runpy.run_module('gpt.export', run_name='__main__')"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", block + run, str(ckpt), str(tmp_path / "hf")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == sorted(
        ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
         "tokenizer_config.json", "README.md", MIRADOR_JSON]
    )


@pytest.mark.parametrize("switches, words", [
    (dict(residual=False), "no residual connections"),
    (dict(layer_norm=False, mlp=False), "no LayerNorm, no feed-forward network"),
    (dict(bigram=True), "a bigram table"),
])
def test_an_earlier_stage_of_the_lecture_is_refused_with_what_it_lacks(tmp_path, capsys, switches, words):
    tok = make_tokenizer("char")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=16, **switches))
    ckpt = save(tmp_path / "stage.safetensors", model, tok)
    with pytest.raises(ValueError, match=f"one of the lecture's earlier stages \\({words}\\).*Only a full model exports"):
        export_to_hf(ckpt, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()  # refused before anything was written
    assert export_cli.main([str(ckpt), str(tmp_path / "hf")]) == 2
    assert "earlier stages" in capsys.readouterr().err
