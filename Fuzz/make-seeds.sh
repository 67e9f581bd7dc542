#!/usr/bin/env bash
# Regenerates the small committed seed corpora Fuzz/corpus/<target>/ from the
# committed fixtures (Tests/Fixtures) and examples (examples/). Needs python3
# (standard library only); the lora, safetensors and json seeds also need a
# built adaptermerge (swift build) for `adaptermerge convert`.
#
#   Fuzz/make-seeds.sh [target...]      default: every target
#
# ADAPTERMERGE=path/to/adaptermerge (default .build/debug/adaptermerge).
# lora, safetensors and json are made together (the safetensors and json
# seeds include a PEFT export of a .lora seed).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(lora safetensors json tokenizer config jsonl recipe)
wants() { local t; for t in "${targets[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c=Fuzz/corpus

if wants lora || wants safetensors || wants json; then
tool=${ADAPTERMERGE:-.build/debug/adaptermerge}
[[ -x $tool ]] || { echo "no $tool: run swift build first (or set ADAPTERMERGE)" >&2; exit 1; }
rm -rf "$c/lora" "$c/safetensors" "$c/json"
mkdir -p "$c/lora" "$c/safetensors" "$c/json"

# A safetensors file with only some tensors of a fixture (offsets rebuilt,
# __metadata__ kept), so the seeds stay a few KB.
trim() {  # trim <in.safetensors> <out> <substring>...
    python3 - "$@" <<'EOF'
import json, struct, sys
src, dst, keep = sys.argv[1], sys.argv[2], sys.argv[3:]
b = open(src, 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
data = b[8 + n:]
out, blobs, off = {}, [], 0
if '__metadata__' in h:
    out['__metadata__'] = h['__metadata__']
for k, v in h.items():
    if k == '__metadata__' or not any(s in k for s in keep):
        continue
    s, e = v['data_offsets']
    blobs.append(data[s:e])
    out[k] = {'dtype': v['dtype'], 'shape': v['shape'], 'data_offsets': [off, off + e - s]}
    off += e - s
hdr = json.dumps(out, separators=(',', ':')).encode()
hdr += b' ' * (-len(hdr) % 8)
open(dst, 'wb').write(struct.pack('<Q', len(hdr)) + hdr + b''.join(blobs))
EOF
}

# --- safetensors ---------------------------------------------------------
cp Tests/Fixtures/safetensors/no_metadata.safetensors "$c/safetensors/no_metadata.safetensors"
cp Tests/Fixtures/safetensors/mixed.safetensors "$c/safetensors/mixed.safetensors"
trim Tests/Fixtures/peft/basic/adapter_model.safetensors "$c/safetensors/basic-2modules.safetensors" \
    layers.0.self_attn.k_proj layers.0.mlp.down_proj
trim Tests/Fixtures/peft/patterns/adapter_model.safetensors "$c/safetensors/patterns-3modules.safetensors" \
    layers.0.self_attn.q_proj layers.1.mlp.down_proj layers.0.mlp.up_proj

# A small PEFT directory to convert into .lora seeds.
mkdir -p "$tmp/peft"
cp Tests/Fixtures/peft/basic/adapter_config.json "$tmp/peft/"
cp "$c/safetensors/basic-2modules.safetensors" "$tmp/peft/adapter_model.safetensors"

# --- lora ----------------------------------------------------------------
# The first byte of a lora input is the fuzz entry's mode (see FuzzLora.swift):
# 0 verbatim, 1 fix the header XXH64, 2 fix tensor and header checksums.
for enc in raw zstd planes; do
    "$tool" convert "$tmp/peft" "$tmp/$enc.lora" --encoding "$enc" --kind task --languages en,de \
        --base-model fixtures/tiny-llama >/dev/null
    { printf '\x02'; cat "$tmp/$enc.lora"; } > "$c/lora/fix-all-$enc.lora"
done
"$tool" convert "$tmp/peft" "$tmp/bf16.lora" --dtype bf16 --encoding planes >/dev/null
{ printf '\x02'; cat "$tmp/bf16.lora"; } > "$c/lora/fix-all-bf16-planes.lora"
{ printf '\x01'; cat "$tmp/planes.lora"; } > "$c/lora/fix-header-planes.lora"
{ printf '\x00'; cat "$tmp/zstd.lora"; } > "$c/lora/verbatim-zstd.lora"

# A PEFT export of a .lora carries adaptermerge metadata in its safetensors header.
"$tool" convert "$tmp/zstd.lora" "$tmp/export" >/dev/null
cp "$tmp/export/adapter_model.safetensors" "$c/safetensors/export-with-metadata.safetensors"

# --- json ----------------------------------------------------------------
for d in basic patterns rslora dora pissa; do
    cp "Tests/Fixtures/peft/$d/adapter_config.json" "$c/json/$d-adapter_config.json"
done
cp "$tmp/export/adapter_config.json" "$c/json/export-adapter_config.json"
# The JSON header of a .lora file (padding stripped), i.e. entries + __metadata__.
python3 - "$tmp/zstd.lora" "$c/json/lora-header.json" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[16:24])[0]
open(sys.argv[2], 'wb').write(b[32:32 + n].rstrip(b' '))
EOF
printf '%s' '{"a":[1,-0,0.5,-1.25e-7,1E+2,9223372036854775807,9223372036854775808],"b":"\u00e9\ud83d\ude00\n\t\"","c":{"d":[true,false,null,[],{}]}}' \
    > "$c/json/syntax.json"

fi

# --- tokenizer -------------------------------------------------------------
# Input layout (FuzzTokenizer.swift): tokenizer.json NUL tokenizer_config.json NUL text.
# The fixtures' vocabularies are cut to the 256 byte-level characters plus the
# tokens of their first 48 merges (and the added tokens), so a seed is ~6 KB.
if wants tokenizer; then
rm -rf "$c/tokenizer"; mkdir -p "$c/tokenizer"
python3 - "$c/tokenizer" <<'EOF'
import json, sys
out = sys.argv[1]
def load(d):
    return (json.load(open(d + '/tokenizer.json', encoding='utf-8')),
            json.load(open(d + '/tokenizer_config.json', encoding='utf-8')))
def trim(tok, merges=48):
    m = tok['model']
    byid = sorted(m['vocab'].items(), key=lambda kv: kv[1])
    vocab = dict(byid[:256])
    kept = []
    for merge in m['merges']:
        a, b = merge.split(' ', 1) if isinstance(merge, str) else merge
        if a in vocab and b in vocab and a + b in m['vocab']:
            vocab[a + b] = m['vocab'][a + b]
            kept.append(merge)
        if len(kept) == merges:
            break
    t = dict(tok)
    t['model'] = dict(m, vocab=vocab, merges=kept)
    return t
def cfg(config):
    keep = ('bos_token', 'eos_token', 'pad_token', 'add_bos_token', 'add_eos_token', 'add_prefix_space')
    return {k: v for k, v in config.items() if k in keep}
def write(name, tok, config, text):
    parts = [json.dumps(tok, ensure_ascii=False, separators=(',', ':')).encode(),
             json.dumps(config, ensure_ascii=False, separators=(',', ':')).encode() if config is not None else b'',
             text.encode()]
    open(f'{out}/{name}', 'wb').write(b'\0'.join(parts))
texts = {
    'llama': "Translate to German: The dog sleeps.\nGerman: Der Hund schläft. It's 2024!",
    'qwen2': "<|im_start|>user\nÜbersetze ins Deutsche: 12345 cafés<|im_end|>",
    'mistral': "  Traduisez en français :\tIl fait beau.\r\n",
    'world': "Utterance: play some pop music\nSlots: music_genre: pop",
}
for name, d in [('llama', 'Tests/Fixtures/runtime/llama'), ('qwen2', 'Tests/Fixtures/runtime/qwen2'),
                ('mistral', 'Tests/Fixtures/runtime/mistral'), ('world', 'examples/world/model')]:
    tok, config = load(d)
    write(f'{name}.tok', trim(tok), cfg(config), texts[name])
tok, config = load('Tests/Fixtures/runtime/llama')
t = trim(tok)
# GPT-2 style: ByteLevel alone (its own regex), merges as pairs, no config.
g = dict(t, pre_tokenizer={'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
         post_processor={'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': False, 'use_regex': True})
g['model'] = dict(t['model'], merges=[m.split(' ', 1) if isinstance(m, str) else m for m in t['model']['merges']])
write('gpt2-pairs.tok', g, None, "Hello world, it's 99 degrees")
# A pattern no hand-written scanner knows: Swift's Regex; and a literal String split.
for name, pattern in [('regex', {'Regex': "\\s+|\\p{L}+|\\p{N}{1,2}|[^\\s\\p{L}\\p{N}]+"}), ('string', {'String': ', '})]:
    r = dict(t, pre_tokenizer={'type': 'Sequence', 'pretokenizers': [
        {'type': 'Split', 'pattern': pattern, 'behavior': 'Isolated', 'invert': False},
        {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': False}]})
    write(f'{name}-split.tok', r, cfg(config), "Der Hund, die Katze, 42 Mäuse.")
EOF
fi

# --- config ----------------------------------------------------------------
if wants config; then
rm -rf "$c/config"; mkdir -p "$c/config"
for d in llama qwen2 mistral; do cp "Tests/Fixtures/runtime/$d/config.json" "$c/config/runtime-$d.json"; done
for d in llama qwen2 mistral; do cp "Tests/Fixtures/runtime/legacy_configs/$d.json" "$c/config/legacy-$d.json"; done
cp examples/world/config.json "$c/config/world.json"
python3 - "$c/config/runtime-llama.json" "$c/config/linear-rope.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d['rope_parameters'] = {'rope_type': 'linear', 'factor': 2.0, 'rope_theta': 10000.0}
json.dump(d, open(sys.argv[2], 'w'), indent=1)
EOF
fi

# --- jsonl -----------------------------------------------------------------
# A few rows of each data file (scoring rows, parallel pairs, slot filling),
# and CRLF line ends with a blank line.
if wants jsonl; then
rm -rf "$c/jsonl"; mkdir -p "$c/jsonl"
head -n 4 examples/tiny-llama/data/dev.jsonl > "$c/jsonl/dev.jsonl"
head -n 3 examples/tiny-llama/data/pairs.jsonl > "$c/jsonl/pairs.jsonl"
head -n 3 examples/world/data/task_dev.jsonl > "$c/jsonl/task_dev.jsonl"
{ head -n 2 Tests/Fixtures/runtime/score.jsonl; printf '\n'; head -n 1 examples/world/data/parallel_test.jsonl; } \
    | sed 's/$/\r/' > "$c/jsonl/crlf-blank.jsonl"
fi

# --- recipe ----------------------------------------------------------------
# Recipes as the combine tests and the MergeRecipe documentation write them.
if wants recipe; then
rm -rf "$c/recipe"; mkdir -p "$c/recipe"
printf '%s\n' '{"inputs": [{"path": "task.lora", "weight": 1.0}, {"path": "align.lora", "weight": 0.5, "layers": "16-=0"}], "method": "svd", "rank": 16, "density": 0.5, "seed": 0, "dtype": "bf16", "output": "merged.lora"}' \
    > "$c/recipe/svd-bands.json"
printf '%s\n' '{"inputs": [{"path": "task", "weight": 1}, {"path": "align", "weight": 0.5}], "method": "concat", "output": "out.lora"}' \
    > "$c/recipe/concat.json"
printf '%s\n' '{"inputs": ["task", "/abs/align.lora"], "method": "ties", "density": 0.2, "dtype": "keep"}' \
    > "$c/recipe/strings.json"
printf '%s\n' '{"inputs": [{"path": "a", "layers": "0-3=1,4-=0.25"}, {"path": "b", "weight": -1}], "method": "add", "seed": 7}' \
    > "$c/recipe/linear-layers.json"
fi

# --- mo ----------------------------------------------------------------------
# The test catalogs (make_mo_fixtures.py): little-endian with contexts and plurals, and big-endian.
if wants mo; then
rm -rf "$c/mo"; mkdir -p "$c/mo"
cp Tests/Fixtures/mo/be/demo.mo "$c/mo/be-demo.mo"
cp Tests/Fixtures/mo/locale/de/LC_MESSAGES/demo.mo "$c/mo/de-demo.mo"
cp Tests/Fixtures/mo/locale/fr/LC_MESSAGES/other.mo "$c/mo/fr-other.mo"
fi

du -cb "$c"/*/* | tail -1
