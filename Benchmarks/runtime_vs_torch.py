#!/usr/bin/env python3
"""PyTorch side of the model-runtime benchmark (docs/DESIGN.md §8), and its inputs.

    python3 Benchmarks/runtime_vs_torch.py OUT_DIR [--threads N] [--runs R] [--warmup W]
                                                  [--json-file PATH] [--skip-create]
    python3 Benchmarks/runtime_vs_torch.py OUT_DIR --model FILE.gguf [the same options]

Creates, offline and deterministically (fixed seeds, PYTHONHASHSEED=0), in OUT_DIR:

* corpus.txt     ~3 MB of generated multilingual text, one paragraph per line
                 (English, German, French, Spanish, Russian, Greek, Chinese,
                 Japanese, Arabic, Hindi, numbers, code);
* model/         a Llama (hidden 256, 8 layers, 4 heads, 4 KV heads,
                 intermediate 688, vocab 2048, f32) saved with save_pretrained,
                 plus a Llama-3-style ByteLevel BPE tokenizer.json (2048 ids,
                 trained with the tokenizers library on corpus.txt) and
                 tokenizer_config.json;
* lora/          a PEFT LoRA, r=8, alpha=16, on all 7 projections, with
                 random nonzero A and B;
* inputs.json    the 16 × 64 random token ids of the forward benchmark;
* logits.safetensors   PyTorch+PEFT's logits for that batch ("logits",
                 f32 [16, 64, 2048]), for the Swift side's equality check;
* corpus_ids.json      the tokenizers library's token count and a 64-bit
                 rolling hash of all ids of corpus.txt (line by line, with BOS),
                 for the Swift tokenizer's equality check.

Then it measures, with torch.set_num_threads(N):

* forward tokens/s of the PEFT model (LoRA unmerged, eval, no_grad) on the
  16 × 64 batch, and of the base model (adapter disabled), median of R runs
  after W warm-up runs;
* the tokenizers library's encode speed on corpus.txt in MB/s: `encode_batch`
  over all lines (Rust threads = N) and over all lines with one Rust thread
  (a child process with RAYON_NUM_THREADS=1), and `encode` line by line from
  Python (single thread).

and writes the results as JSON (--json-file, default OUT_DIR/torch-tN.json).
With --skip-create, the files in OUT_DIR are reused (they must exist); with
--create-only, nothing is timed. Two creations give byte-identical files.

With --model FILE (a GGUF file, or a Hugging Face directory), the real-model
mode: no LoRA, no tokenizer, no generated model. Creation writes into OUT_DIR

* inputs.json          --shape BxT (default 8 × 64) ids of real text: the
                       sentences of examples/real/*.jsonl and REAL_LINES below,
                       tokenized by transformers' tokenizer for FILE, each
                       sequence a run of lines joined by newlines from its own
                       starting line, cut at T tokens (no padding); plus FILE's
                       path, size and the source of the ids;
* logits.safetensors   "logits" (f32 [B, T, vocab]) and "hidden_states" (f32
                       [layers + 1, B, T, hidden], transformers'
                       output_hidden_states) for that batch, and "pooled"
                       (f32 [layers + 1, texts, hidden]) for analysis.json,
                       on one thread;
* analysis.json        the retrieval workload: 48 texts of mixed lengths (one
                       to four of those sentences joined by spaces),
                       tokenized with the tokenizer's special tokens, and the
                       batch size (8, analyze's default);

and the timing loads FILE with `AutoModelForCausalLM.from_pretrained(dir,
gguf_file=name, dtype=float32)` (dequantized to f32; load time measured), then
times the forward pass with output_hidden_states=True (logits and all hidden
states) and without it (logits only), with transformers' default attention;
then the retrieval analysis itself, every text's mean-pooled states at every
layer, in batches of 8: as a transformers user writes it (the model's usual
call over file-order batches, right-padded under an attention mask) and with
adaptermerge's savings where PyTorch can make them (the base model without
the LM head, batches grouped by length). Rates count real tokens only. This mode needs torch, transformers,
accelerate and gguf, not peft.

Needs the pinned versions in scripts/fixtures/requirements.txt. Never part of
the test suite; Benchmarks/run_runtime.sh runs it (MODEL=FILE for the real mode).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "fixtures"))
import pinned  # noqa: E402

pinned.reexec({
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "CUDA_VISIBLE_DEVICES": "",
    "TOKENIZERS_PARALLELISM": "true",
    "TQDM_DISABLE": "1",
}, one_thread=False)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

# --------------------------------------------------------------------------- constants
SEED = 20240607
HIDDEN, LAYERS, HEADS, KV_HEADS, INTERMEDIATE, VOCAB = 256, 8, 4, 4, 688, 2048
BATCH, LENGTH = 16, 64  # the default forward batch; --shape BxT for another (at most 2048 tokens long)
LORA_R, LORA_ALPHA = 8, 16
REAL_BATCH, REAL_LENGTH = 8, 64  # the real-model mode's default forward batch
ANALYSIS_BATCH = 8  # the retrieval analysis's batches: adaptermerge analyze's default --batch-size
ALL7 = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CORPUS_BYTES = 3_000_000
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"]
# Llama 3's pre-tokenizer regex, verbatim (as in scripts/fixtures/make_runtime_fixtures.py).
LLAMA3_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
HASH_MOD = 1 << 64
HASH_MUL = 1_000_003


def corpus_hash(hash_value, ids):
    """64-bit rolling hash `h = h * 1000003 + id + 1 (mod 2^64)`; the Swift bench computes the same."""
    for i in ids:
        hash_value = (hash_value * HASH_MUL + i + 1) % HASH_MOD
    return hash_value


# --------------------------------------------------------------------------- corpus
# Seed words per language; more are made from each language's syllables so
# that the vocabulary is large and Zipf-distributed, like real text.
WORDS = {
    "en": "the of and to in is that it was for on are as with his they at be this from have or by one had not but "
          "what all were when we there can an your which their said if do will each about how up out them then she "
          "many some so these would other into has more her two like him see time could no make than first been its "
          "who now people my made over did down only way find use may water long little very after words called just "
          "where most know model adapter merge weight layer token language training evaluation forward attention",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er "
          "hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor "
          "zur bis mehr durch man sein wurde sei Straße Mädchen schön Größe übersetzen Gemüse können müssen",
    "fr": "le de un être et à il avoir ne je son que se qui ce dans en du elle au pour pas que vous par sur faire plus "
          "dire me on mon lui nous comme mais pouvoir avec tout y aller voir en bien où sans tu ou leur homme si deux "
          "été très déjà français bibliothèque garçon naïve œuvre",
    "es": "el la de que y a en un ser se no haber por con su para como estar tener le lo todo pero más hacer o poder "
          "decir este ir otro ese la si me ya ver porque dar cuando él muy sin vez mucho saber qué sobre mi año "
          "niño mañana corazón canción",
    "ru": "и в не на я быть он с что а по это она этот к но они мы как из у который то за свой что весь год от так о "
          "для ты же все тот мочь вы человек такой его сказать только или ещё бы себя один как уже до время если "
          "сам когда другой вот говорить наш мой знать стать при чтобы дело жизнь модель слово",
    "el": "και το να του η της με που την από είναι για τα σε στο ο θα δεν τον οι στην των ένα μια ότι στη τις "
          "αλλά όπως μου Αθήνα καλημέρα γλώσσα μοντέλο",
    "zh": "的 一 是 不 了 人 我 在 有 他 这 为 之 大 来 以 个 中 上 们 到 说 国 和 地 也 子 时 道 出 而 要 于 就 下 得 可 你 年 生 "
          "自 会 那 后 能 对 着 事 其 里 所 去 行 过 家 十 用 发 天 如 然 作 方 成 者 多 日 都 三 小 军 二 无 同 么 经 法 当 起 与 好 "
          "看 学 进 种 将 还 分 此 心 前 面 又 定 见 只 主 没 公 从 语 言 模 型 北 京",
    "ja": "の に は を た が で て と し れ さ ある いる も する から な こと として い や れる など なっ ない この ため その "
          "あっ よう また もの という あり まで られ なる へ か だ これ によって により おり より による ず なり られる "
          "において 東京 日本 言語 モデル カタカナ ひらがな",
    "ar": "في من على إلى أن عن مع هذا هذه التي الذي كان كانت بين كل بعد قبل حتى أو لا ما لم قد هو هي نحن أنت "
          "القاهرة العالم اللغة النموذج",
    "hi": "के है में की और से को एक पर यह था भी कि हैं लिए नहीं तो ही या हो गया कर था जो कुछ भारत दिल्ली भाषा मॉडल",
}
SYLLABLES = {
    "en": "ba be bi bo bu ca co da de di do fa fe fi ga ge go ha he hi la le li lo ma me mi mo na ne ni no pa pe pi po "
          "ra re ri ro sa se si so ta te ti to va ve vi wa we st th ch sh ing ion er ed ly ment ness",
    "de": "ge be ver zer ung keit heit lich isch ein aus an auf sch ch ä ö ü ß st sp er en el ber lin haus",
    "fr": "le la re de con com pro tion ment eur euse é è ê ç ou ai oi ien ier ette ique",
    "es": "la lo ción dad mente ar er ir ado ida ñ á é í ó ú es as os cia rio",
    "ru": "ра ро ре ри ло ла ли ко ка ки на но ни ст пр ов ев ость ение ать ить ый ий ая ое ж ш щ ч ц",
    "el": "κα λη με ρα το πο λυ στ ος ης ου ει αι ια ω ά έ ί ό ύ ή ώ",
    "zh": "天 地 人 水 火 山 木 金 土 日 月 风 雨 电 花 草 书 文 字 车 马 鱼 鸟 学 生 工 作 时 间 问 题 新 旧 东 西 南",
    "ja": "か き く け こ さ し す せ そ た ち つ て と な に ぬ ね の ア イ ウ エ オ カ キ ク ケ コ ン ー",
    "ar": "ال م ن ت ي و ر ب ل ك س ع ف ق ح د ة ا",
    # consonants with and without vowel signs (a vowel sign never starts a word)
    "hi": "क का कि की के को ख गा गी त ता ति ते द दा दी न ना नी प पा पी म मा मी य या र रा री रे ल ला ली व वा वी स सा "
          "सी ह हा ही हैं",
}
# Scripts written without spaces between words.
NO_SPACES = {"zh", "ja"}
SENTENCE_END = {"zh": "。", "ja": "。", "hi": "।", "ar": ".", "el": "."}
LANG_WEIGHTS = {"en": 30, "de": 10, "fr": 10, "es": 10, "ru": 10, "el": 4, "zh": 10, "ja": 6, "ar": 5, "hi": 5}
CODE_LINES = [
    "def forward(self, x):\n    return self.norm(self.proj(x)) + x",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "let y = try model.forward(batch, adapters: stack)",
    'print(f"loss={loss:.4f} step={step}")',
    "SELECT name, COUNT(*) FROM runs WHERE status = 'done' GROUP BY name;",
    "if err != nil { return fmt.Errorf(\"open %s: %w\", path, err) }",
]


def make_lexicon(rng, lang, size):
    """The seed words followed by syllable words, in a fixed random order (rank = Zipf rank)."""
    words = WORDS[lang].split()
    syl = SYLLABLES[lang].split()
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(syl) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def zipf_weights(n, s=1.07):
    return [1.0 / (k + 1) ** s for k in range(n)]


def make_corpus(rng, target_bytes):
    """Lines of 1–6 sentences in one language each, with numbers, punctuation and some code."""
    lexicons = {lang: make_lexicon(rng, lang, 3000) for lang in WORDS}
    cum = {lang: None for lang in WORDS}
    weights = zipf_weights(3000)
    for lang in WORDS:
        total, acc = 0.0, []
        for w in weights:
            total += w
            acc.append(total)
        cum[lang] = acc
    langs = list(LANG_WEIGHTS)
    lang_w = [LANG_WEIGHTS[k] for k in langs]
    lines, size = [], 0
    while size < target_bytes:
        r = rng.random()
        if r < 0.03:
            line = rng.choice(CODE_LINES).replace("\n", " \\n ")
        else:
            lang = rng.choices(langs, lang_w)[0]
            sentences = []
            for _ in range(rng.randint(1, 6)):
                words = rng.choices(lexicons[lang], cum_weights=cum[lang], k=rng.randint(4, 18))
                if rng.random() < 0.15:
                    words.insert(rng.randrange(len(words)), str(rng.choice([rng.randint(0, 99), rng.randint(1900, 2030),
                                                                             rng.randint(0, 10 ** 6)])))
                if rng.random() < 0.1:
                    words.insert(rng.randrange(len(words)), f"{rng.randint(0, 99)}.{rng.randint(0, 99):02d}%")
                sep = "" if lang in NO_SPACES else " "
                s = sep.join(words)
                if lang not in NO_SPACES and rng.random() < 0.3:
                    k = rng.randrange(len(words))
                    s = sep.join(w + ("," if i == k else "") for i, w in enumerate(words))
                if lang in ("en", "de", "fr", "es", "ru", "el"):
                    s = s[0].upper() + s[1:]
                end = SENTENCE_END.get(lang, rng.choice([".", ".", ".", "?", "!"]))
                sentences.append(s + end)
            if lang == "en" and rng.random() < 0.1:
                sentences.append(rng.choice(["I'm sure it's fine.", "They've said we'll see.", "Don't you think so?"]))
            line = ("" if lang in NO_SPACES else " ").join(sentences)
        lines.append(line)
        size += len(line.encode("utf-8")) + 1
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- creation
def train_tokenizer(corpus_path):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - len(SPECIALS), min_frequency=2, show_progress=False,
                                  special_tokens=[], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([corpus_path], trainer=trainer)
    assert tok.get_vocab_size() == VOCAB - len(SPECIALS), tok.get_vocab_size()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    bos = SPECIALS[0]
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                                      special_tokens=[(bos, tok.token_to_id(bos))]),
    ])
    assert tok.get_vocab_size() == VOCAB
    return tok


def tokenizer_config(tok):
    decoder = {}
    for idx, at in sorted(tok.get_added_tokens_decoder().items()):
        decoder[str(idx)] = {"content": at.content, "lstrip": at.lstrip, "normalized": at.normalized,
                             "rstrip": at.rstrip, "single_word": at.single_word, "special": at.special}
    return {"added_tokens_decoder": decoder, "bos_token": SPECIALS[0], "clean_up_tokenization_spaces": False,
            "eos_token": SPECIALS[1], "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 2048,
            "pad_token": SPECIALS[2], "padding_side": "right", "tokenizer_class": "PreTrainedTokenizerFast"}


def create(out, batch_size=BATCH, length=LENGTH):
    import torch
    import safetensors.torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from peft import LoraConfig, get_peft_model
    from peft.tuners.lora import LoraLayer

    os.makedirs(out, exist_ok=True)
    rng = random.Random(SEED)
    corpus_path = os.path.join(out, "corpus.txt")
    with open(corpus_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(make_corpus(rng, CORPUS_BYTES))

    # Tokenizer: trained single-threaded so the merges do not depend on thread timing.
    tok = train_tokenizer(corpus_path)
    model_dir = os.path.join(out, "model")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(tok.to_str(pretty=True) + "\n")
    with open(os.path.join(model_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(tok), f, ensure_ascii=False, indent=2)
        f.write("\n")

    # Model: transformers' own initialisation under a fixed seed, norms perturbed so they matter.
    torch.manual_seed(SEED)
    ids = {t: tok.token_to_id(t) for t in SPECIALS}
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE, num_hidden_layers=LAYERS,
                      num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, max_position_embeddings=2048,
                      rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                      bos_token_id=ids[SPECIALS[0]], eos_token_id=ids[SPECIALS[1]], pad_token_id=ids[SPECIALS[2]])
    model = LlamaForCausalLM(cfg).to(torch.float32).eval()
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda x: x[0]):
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
    model.save_pretrained(model_dir)

    # LoRA r=8, alpha=16 on all 7 projections; A and B random (B nonzero), seeded, in module-name order.
    pm = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.0,
                                          target_modules=ALL7))
    gen = torch.Generator().manual_seed(SEED + 2)
    with torch.no_grad():
        for _, mod in sorted(pm.named_modules(), key=lambda x: x[0]):
            if isinstance(mod, LoraLayer):
                for ad in sorted(mod.lora_A.keys()):
                    a, b = mod.lora_A[ad].weight, mod.lora_B[ad].weight
                    a.copy_(torch.randn(a.shape, generator=gen) / a.shape[1] ** 0.5)
                    b.copy_(torch.randn(b.shape, generator=gen) * 0.05)
    lora_dir = os.path.join(out, "lora")
    pm.save_pretrained(lora_dir)
    readme = os.path.join(lora_dir, "README.md")
    if os.path.exists(readme):
        os.remove(readme)

    # The forward batch: uniformly random ids, no padding.
    gen = torch.Generator().manual_seed(SEED + 3)
    batch = torch.randint(0, VOCAB, (batch_size, length), generator=gen)
    with open(os.path.join(out, "inputs.json"), "w", encoding="utf-8") as f:
        json.dump({"batch": batch_size, "length": length, "ids": batch.tolist()}, f)
        f.write("\n")

    # The reference logits, from a fresh load of what was saved (what the Swift side reads).
    pm = load_peft(out, torch)
    with torch.no_grad():
        logits = pm(input_ids=batch, attention_mask=torch.ones_like(batch)).logits.float().contiguous()
    safetensors.torch.save_file({"logits": logits}, os.path.join(out, "logits.safetensors"))

    # The tokenizers library's ids for the corpus, line by line, with BOS (as the Swift bench encodes it).
    from tokenizers import Tokenizer
    t = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    lines = read_lines(corpus_path)
    count, h = 0, 0
    for enc in t.encode_batch(lines):
        count += len(enc.ids)
        h = corpus_hash(h, enc.ids)
    with open(os.path.join(out, "corpus_ids.json"), "w", encoding="utf-8") as f:
        json.dump({"lines": len(lines), "tokens": count, "hash": str(h),
                   "hash_rule": "h = h * 1000003 + id + 1 mod 2^64 over all ids, line by line, BOS included"}, f)
        f.write("\n")


def load_peft(out, torch):
    from transformers import AutoModelForCausalLM
    from peft import PeftModel

    base = AutoModelForCausalLM.from_pretrained(os.path.join(out, "model"), dtype=torch.float32)
    return PeftModel.from_pretrained(base, os.path.join(out, "lora")).eval()


def read_lines(path):
    """The corpus's lines without their line breaks (what both sides encode)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        return f.read().split("\n")[:-1]


# --------------------------------------------------------------------------- timing
def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def summary(times, work, unit):
    med = statistics.median(times)
    return {"runs": len(times), "median_s": med, "min_s": min(times), "max_s": max(times),
            f"{unit}_median": work / med, f"{unit}_best": work / min(times)}


def bench_forward(out, threads, runs, warmup):
    import torch

    torch.set_num_threads(threads)
    pm = load_peft(out, torch)
    with open(os.path.join(out, "inputs.json"), encoding="utf-8") as f:
        ids = torch.tensor(json.load(f)["ids"], dtype=torch.long)
    mask = torch.ones_like(ids)
    tokens = ids.numel()

    def run():
        with torch.no_grad():
            return pm(input_ids=ids, attention_mask=mask).logits

    def run_base():
        with torch.no_grad(), pm.disable_adapter():
            return pm(input_ids=ids, attention_mask=mask).logits

    lora = summary(timed(run, runs, warmup), tokens, "tokens_per_s")
    base = summary(timed(run_base, runs, warmup), tokens, "tokens_per_s")
    return {"lora_unmerged": lora, "base": base, "tokens": tokens, "batch": ids.shape[0], "length": ids.shape[1],
            "attn_implementation": pm.base_model.model.config._attn_implementation,
            "torch_threads": torch.get_num_threads()}


def bench_tokenizer(out, runs, warmup, loop=True):
    from tokenizers import Tokenizer

    corpus = os.path.join(out, "corpus.txt")
    mb = os.path.getsize(corpus) / 1e6
    tok = Tokenizer.from_file(os.path.join(out, "model", "tokenizer.json"))
    lines = read_lines(corpus)
    batch = summary(timed(lambda: tok.encode_batch(lines), runs, warmup), mb, "mb_per_s")

    def single():
        for line in lines:
            tok.encode(line)

    result = {"corpus_mb": mb, "lines": len(lines), "encode_batch": batch}
    if loop:
        result["encode_loop"] = summary(timed(single, max(3, runs // 2), 1), mb, "mb_per_s")
    return result


def child_encode_batch(out, runs, warmup):
    """encode_batch in a child process pinned to one Rust thread."""
    env = dict(os.environ, RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="true")
    cmd = [sys.executable, os.path.abspath(__file__), out, "--tokenizer-child", "--no-loop",
           "--runs", str(runs), "--warmup", str(warmup)]
    res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(res.stdout)["encode_batch"]


# --------------------------------------------------------------------------- real model (--model)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Everyday sentences in the languages of the paper's study and a few more, for the real-model batch next to
# the sentences of examples/real/*.jsonl.
REAL_LINES = [
    "The museum opens at nine and closes at six, except on Mondays.",
    "Die Kinder spielen nach der Schule im Park, bis es dunkel wird.",
    "Nous avons réservé une table pour quatre personnes ce soir.",
    "El médico dijo que debía descansar durante una semana.",
    "Вчера вечером мы долго гуляли по набережной.",
    "我们明天早上八点在火车站见面。",
    "Il mio fratello studia ingegneria all'università di Torino.",
    "De trein naar Amsterdam vertrekt over tien minuten.",
    "A biblioteca fica ao lado da praça principal.",
    "東京は今日とても暑かったので、家で本を読みました。",
    "Η θάλασσα ήταν ήρεμη και το νερό ζεστό.",
    "Bu akşam arkadaşlarımla sinemaya gideceğim.",
    "She forgot her umbrella, so she waited under the bridge until the rain stopped.",
    "Please send me the report by Friday; the meeting was moved to 3 pm.",
    "Kann ich hier mit Karte bezahlen, oder nur bar?",
    "Le chat dort sur le canapé depuis ce matin.",
]


def real_sentences():
    """The sentences of examples/real/*.jsonl (every string field, in file order), then REAL_LINES."""
    lines = []
    for name in ("pairs.jsonl", "score.jsonl"):
        path = os.path.join(ROOT, "examples", "real", name)
        with open(path, encoding="utf-8") as f:
            for row in f:
                if row.strip():
                    obj = json.loads(row)
                    if "prefix" in obj:
                        lines.append(obj["prefix"] + obj.get("text", ""))
                    else:
                        lines += [v for k, v in obj.items() if k.startswith("text") and isinstance(v, str)]
    return lines + REAL_LINES


def real_files(model_path):
    """`from_pretrained` arguments for a GGUF file or a Hugging Face directory."""
    if os.path.isdir(model_path):
        return model_path, {}
    return os.path.dirname(model_path), {"gguf_file": os.path.basename(model_path)}


def load_real(model_path, torch):
    from transformers import AutoModelForCausalLM

    where, extra = real_files(model_path)
    return AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **extra).eval()


def create_real(out, model_path, batch_size, length):
    """inputs.json (real text, no padding), analysis.json (the retrieval workload) and the reference logits,
    hidden states and pooled states, on one thread."""
    import torch
    import safetensors.torch
    from transformers import AutoTokenizer

    os.makedirs(out, exist_ok=True)
    where, extra = real_files(model_path)
    tok = AutoTokenizer.from_pretrained(where, **extra)
    lines = real_sentences()
    rows = []
    for i in range(batch_size):
        # Sequence i starts at line 7i (mod the count) and takes lines until it holds `length` tokens.
        start, ids, k = (7 * i) % len(lines), [], 0
        while len(ids) < length:
            text = "\n".join(lines[(start + j) % len(lines)] for j in range(k + 1))
            ids = tok(text, add_special_tokens=False)["input_ids"]
            k += 1
            if k > 10 * len(lines):
                raise SystemExit("the real sentences are too short for --shape")
        rows.append(ids[:length])
    batch = torch.tensor(rows, dtype=torch.long)
    with open(os.path.join(out, "inputs.json"), "w", encoding="utf-8") as f:
        json.dump({"batch": batch_size, "length": length, "ids": rows, "model": os.path.abspath(model_path),
                   "model_bytes": file_bytes(model_path),
                   "text": "real: examples/real/*.jsonl and REAL_LINES of Benchmarks/runtime_vs_torch.py, "
                           "lines joined by newlines, cut at length tokens, no padding; transformers' tokenizer"},
                  f, ensure_ascii=False)
        f.write("\n")
    model = load_real(model_path, torch)
    with torch.no_grad():
        o = model(input_ids=batch, attention_mask=torch.ones_like(batch), output_hidden_states=True)
    pooled = create_analysis(out, model_path, model, tok, torch)
    safetensors.torch.save_file({"logits": o.logits.float().contiguous(),
                                 "hidden_states": torch.stack(o.hidden_states).float().contiguous(),
                                 "pooled": pooled.float().contiguous()},
                                os.path.join(out, "logits.safetensors"))


def analysis_texts():
    """The retrieval workload's texts, of mixed lengths: text k is real_sentences()[k] joined by spaces with the
    k mod 4 lines after it (one to four sentences)."""
    lines = real_sentences()
    return [" ".join(lines[(k + j) % len(lines)] for j in range(k % 4 + 1)) for k in range(len(lines))]


def analysis_batches(ids, batch_size, grouped):
    """Batches of indices into `ids`: in the order given (what a script over a data file does), or, `grouped`,
    shortest first (the least padding padded batches can have; adaptermerge packs its batches instead)."""
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i)) if grouped else list(range(len(ids)))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def pooled_states(forward, ids, batch_size, grouped, torch):
    """Mean-pooled hidden states of every text at every layer ([layers + 1, texts, hidden]): per batch, the ids
    right-padded with 0 under an attention mask, `forward(input_ids, attention_mask)` returning all hidden states,
    each state averaged over the real tokens."""
    pooled = [None] * len(ids)
    for members in analysis_batches(ids, batch_size, grouped):
        length = max(len(ids[i]) for i in members)
        batch = torch.zeros((len(members), length), dtype=torch.long)
        mask = torch.zeros((len(members), length), dtype=torch.long)
        for row, i in enumerate(members):
            batch[row, :len(ids[i])] = torch.tensor(ids[i])
            mask[row, :len(ids[i])] = 1
        with torch.no_grad():
            states = torch.stack(forward(batch, mask).hidden_states)  # [layers + 1, batch, length, hidden]
            weights = mask.to(states.dtype)[None, :, :, None]
            means = (states * weights).sum(2) / weights.sum(2)
        for row, i in enumerate(members):
            pooled[i] = means[:, row]
    return torch.stack(pooled, dim=1)


def create_analysis(out, model_path, model, tok, torch):
    """analysis.json (the ids of analysis_texts(), transformers' tokenizer with its special tokens) and the
    reference pooled states, from the model's usual call in file-order batches."""
    texts = analysis_texts()
    ids = [tok(t)["input_ids"] for t in texts]
    with open(os.path.join(out, "analysis.json"), "w", encoding="utf-8") as f:
        json.dump({"batch_size": ANALYSIS_BATCH, "ids": ids, "model": os.path.abspath(model_path),
                   "text": "real: one to four lines of examples/real/*.jsonl and REAL_LINES of "
                           "Benchmarks/runtime_vs_torch.py joined by spaces; transformers' tokenizer"},
                  f, ensure_ascii=False)
        f.write("\n")
    return pooled_states(lambda b, m: model(input_ids=b, attention_mask=m, output_hidden_states=True), ids,
                         ANALYSIS_BATCH, False, torch)


def file_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(path) for n in names)
    return os.path.getsize(path)


def bench_real(out, model_path, threads, runs, warmup):
    import torch

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    model = load_real(model_path, torch)
    load_s = time.perf_counter() - t0
    with open(os.path.join(out, "inputs.json"), encoding="utf-8") as f:
        inputs = json.load(f)
    if os.path.abspath(model_path) != inputs.get("model"):
        raise SystemExit(f"{out}/inputs.json was made for {inputs.get('model')}, not {model_path}")
    ids = torch.tensor(inputs["ids"], dtype=torch.long)
    mask = torch.ones_like(ids)
    tokens = ids.numel()

    def run(states):
        with torch.no_grad():
            return model(input_ids=ids, attention_mask=mask, output_hidden_states=states)

    o = run(True)
    states = summary(timed(lambda: run(True), runs, warmup), tokens, "tokens_per_s")
    logits = summary(timed(lambda: run(False), runs, warmup), tokens, "tokens_per_s")

    # The retrieval analysis: every text's mean-pooled states at every layer. As a transformers user writes it
    # (the model's usual call, batches in file order, padded), and with savings like adaptermerge's (the base model
    # without the LM head; batches grouped by length, since sdpa takes padded batches where adaptermerge packs).
    with open(os.path.join(out, "analysis.json"), encoding="utf-8") as f:
        analysis = json.load(f)
    if os.path.abspath(model_path) != analysis.get("model"):
        raise SystemExit(f"{out}/analysis.json was made for {analysis.get('model')}, not {model_path}")
    texts, size = analysis["ids"], analysis["batch_size"]
    real_tokens = sum(len(t) for t in texts)
    usual = lambda b, m: model(input_ids=b, attention_mask=m, output_hidden_states=True)
    lean = lambda b, m: model.model(input_ids=b, attention_mask=m, output_hidden_states=True)
    padded = {grouped: sum(len(b) * max(len(texts[i]) for i in b) for b in analysis_batches(texts, size, grouped))
              for grouped in (False, True)}
    analysis_usual = summary(timed(lambda: pooled_states(usual, texts, size, False, torch), runs, warmup),
                             real_tokens, "tokens_per_s")
    analysis_lean = summary(timed(lambda: pooled_states(lean, texts, size, True, torch), runs, warmup),
                            real_tokens, "tokens_per_s")
    c = model.config
    return {
        "load_s": load_s,
        "forward": {"hidden_states": states, "logits_only": logits, "tokens": tokens, "batch": ids.shape[0],
                    "length": ids.shape[1], "hidden_states_returned": len(o.hidden_states),
                    "attn_implementation": c._attn_implementation, "torch_threads": torch.get_num_threads()},
        "analysis": {"texts": len(texts), "batch_size": size, "tokens": real_tokens,
                     "lengths": [min(len(t) for t in texts), max(len(t) for t in texts)],
                     "padded_tokens_file_order": padded[False], "padded_tokens_grouped": padded[True],
                     "usual": analysis_usual, "lean_grouped": analysis_lean},
        "model": {"path": os.path.abspath(model_path), "bytes": file_bytes(model_path), "type": c.model_type,
                  "hidden": c.hidden_size, "layers": c.num_hidden_layers, "heads": c.num_attention_heads,
                  "kv_heads": c.num_key_value_heads, "intermediate": c.intermediate_size, "vocab": c.vocab_size,
                  "tied_head": bool(c.tie_word_embeddings), "parameters": sum(p.numel() for p in model.parameters()),
                  "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
                  "batch": ids.shape[0], "length": ids.shape[1]},
    }


def main_real(args, out, batch_size, length):
    import torch
    import transformers
    import tokenizers

    model_path = os.path.abspath(args.model)
    if not args.skip_create:
        t0 = time.perf_counter()
        torch.set_num_threads(1)  # the reference does not depend on the machine's cores
        create_real(out, model_path, batch_size, length)
        print(f"created {out} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.create_only:
        return
    r = bench_real(out, model_path, args.threads, args.runs, args.warmup)
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}
    for name in ("gguf", "accelerate"):  # what from_pretrained(gguf_file=...) uses
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    result = dict({"tool": "pytorch", "mode": "real", "versions": versions, "threads": args.threads}, **r)
    path = args.json_file or os.path.join(out, f"torch-t{args.threads}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    f = r["forward"]
    print(f"pytorch  threads={args.threads} attn={f['attn_implementation']}: load {r['load_s']:.2f} s; forward with "
          f"all {f['hidden_states_returned']} hidden states {f['hidden_states']['tokens_per_s_median']:.0f} tok/s, "
          f"logits only {f['logits_only']['tokens_per_s_median']:.0f} tok/s")
    a = r["analysis"]
    print(f"pytorch  threads={args.threads}: retrieval analysis of {a['texts']} texts ({a['tokens']} tokens): "
          f"usual call, file order {a['usual']['tokens_per_s_median']:.0f} tok/s; base model, grouped by length "
          f"{a['lean_grouped']['tokens_per_s_median']:.0f} tok/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json-file")
    ap.add_argument("--shape", help=f"the forward batch, sequences x tokens (default {BATCH}x{LENGTH}; "
                                    f"{REAL_BATCH}x{REAL_LENGTH} with --model)")
    ap.add_argument("--model", help="the real-model mode: this GGUF file (or Hugging Face directory)")
    ap.add_argument("--skip-create", action="store_true")
    ap.add_argument("--create-only", action="store_true")
    ap.add_argument("--tokenizer-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-loop", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    if args.shape is None:
        args.shape = f"{REAL_BATCH}x{REAL_LENGTH}" if args.model else f"{BATCH}x{LENGTH}"
    try:
        batch_size, length = (int(x) for x in args.shape.lower().split("x"))
    except ValueError:
        batch_size = length = 0
    if batch_size <= 0 or not 0 < length <= 2048:
        ap.error(f"--shape must be BxT with B > 0 and 0 < T <= 2048, not {args.shape!r}")

    if args.tokenizer_child:
        print(json.dumps(bench_tokenizer(out, args.runs, args.warmup, loop=not args.no_loop)))
        return

    if args.model:
        main_real(args, out, batch_size, length)
        return

    import torch
    import transformers
    import peft
    import tokenizers

    if not args.skip_create:
        t0 = time.perf_counter()
        # Single-threaded creation: the trained merges and the random tensors do not depend on the machine's cores.
        os.environ["RAYON_NUM_THREADS"] = "1"
        torch.set_num_threads(1)
        create(out, batch_size, length)
        print(f"created {out} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.create_only:
        return
    # RAYON_NUM_THREADS is read once per process; encode_batch with N threads runs in a child too.
    forward = bench_forward(out, args.threads, args.runs, args.warmup)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), TOKENIZERS_PARALLELISM="true")
    cmd = [sys.executable, os.path.abspath(__file__), out, "--tokenizer-child", "--runs", str(args.runs),
           "--warmup", "1"]
    tok_n = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
    tok_1 = child_encode_batch(out, args.runs, 1)
    result = {
        "tool": "pytorch",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "peft": peft.__version__,
                     "tokenizers": tokenizers.__version__},
        "threads": args.threads,
        "model": {"hidden": HIDDEN, "layers": LAYERS, "heads": HEADS, "kv_heads": KV_HEADS,
                  "intermediate": INTERMEDIATE, "vocab": VOCAB, "dtype": "f32", "lora_r": LORA_R,
                  "lora_alpha": LORA_ALPHA, "batch": forward["batch"], "length": forward["length"]},
        "forward": forward,
        "tokenizer": {"corpus_mb": tok_n["corpus_mb"], "lines": tok_n["lines"],
                      "encode_batch_threads": args.threads, "encode_batch": tok_n["encode_batch"],
                      "encode_batch_1_thread": tok_1, "encode_loop_1_thread": tok_n["encode_loop"]},
    }
    path = args.json_file or os.path.join(out, f"torch-t{args.threads}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    f = forward
    print(f"pytorch  threads={args.threads} attn={f['attn_implementation']}: forward LoRA "
          f"{f['lora_unmerged']['tokens_per_s_median']:.0f} tok/s, base {f['base']['tokens_per_s_median']:.0f} tok/s; "
          f"tokenizers encode_batch {tok_n['encode_batch']['mb_per_s_median']:.2f} MB/s "
          f"({args.threads} threads), {tok_1['mb_per_s_median']:.2f} MB/s (1 thread), "
          f"encode loop {tok_n['encode_loop']['mb_per_s_median']:.2f} MB/s")


if __name__ == "__main__":
    main()
