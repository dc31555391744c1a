#!/usr/bin/env bash
# Builds and runs the cargo-fuzz targets on the stable toolchain (through
# RUSTC_BOOTSTRAP=1, which cargo-fuzz's -Z flags need; set only for cargo fuzz,
# since it changes rustc's fingerprint and would rebuild the whole workspace).
#
#   fuzz/run.sh [SECONDS] [TARGET...]     default: 600 s each for frontend codegen clif
#
# The codegen target runs the release `toyvm` binary (built here first). Findings
# land in fuzz/artifacts/TARGET/; the corpus grows in fuzz/corpus/TARGET/ (not
# committed), starting from the committed seeds in fuzz/seeds/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(frontend codegen clif)

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
(cd .. && cargo build --release -p toyvm)
# A private copy, so that rebuilding the workspace during a run does not pull
# the binary from under the codegen target.
mkdir -p target
cp ../target/x86_64-unknown-linux-gnu/release/toyvm target/toyvm-under-fuzz
export TOYVM="$PWD/target/toyvm-under-fuzz"
# No sanitizer: MMTk maps its heap at a fixed address (0x200_0000_0000) inside
# AddressSanitizer's shadow gap, so an ASan build of any target that starts MMTk
# dies at startup; the front end and the generator are safe Rust.
RUSTC_BOOTSTRAP=1 cargo fuzz build -O -s none

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t for $secs s"
    # -rss_limit_mb: the clif target keeps every function it compiles (the
    # materializer never frees code), so long runs grow slowly.
    RUSTC_BOOTSTRAP=1 cargo fuzz run -O -s none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/"
done
