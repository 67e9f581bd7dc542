#!/usr/bin/env bash
# Regenerates the small committed seed corpora Fuzz/corpus/{lora,safetensors,json}/
# from the committed fixtures. Needs python3 (standard library only) and a
# built adaptermerge (swift build) for the `.lora` seeds.
#
#   Fuzz/make-seeds.sh [path/to/adaptermerge]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
tool=${1:-.build/debug/adaptermerge}
[[ -x $tool ]] || { echo "no $tool: run swift build first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c=Fuzz/corpus
rm -rf "$c"
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

du -cb "$c"/*/* | tail -1
