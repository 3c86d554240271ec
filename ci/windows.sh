#!/usr/bin/env bash
# The Windows binary, built on this Debian machine and run under Wine (issue 17).
#
#   bash ci/windows.sh            install what is missing, build, run the smoke suite
#   bash ci/windows.sh build      install and build only; prints the path of intunewin.exe
#   bash ci/windows.sh tests [FILTER...]
#                                 the integration tests' CLI tests against intunewin.exe under
#                                 Wine (INTUNEWIN_BIN, INTUNEWIN_RUNNER; see tests/util.rs)
#
# 1. Installs (quietly, only what is missing) Debian's rustc-web/cargo-web with the std source,
#    the mingw-w64 cross compiler and Wine.
# 2. Builds intunewin.exe for x86_64-pc-windows-gnu with -Zbuild-std (Debian ships no prebuilt
#    std for that target) into its own target dir, $CARGO_TARGET_DIR/windows (default
#    target/windows), so the Linux build is untouched.
# 3. Makes a fresh WINEPREFIX with a stub bcryptprimitives.dll (ci/bcryptprimitives.c; Wine 8
#    lacks it and every Rust program built for this target imports ProcessPrng from it).
# 4. Runs the smoke suite: every command on testdata/sample-app and on every package of the
#    corpus (../shared/corpus, or INTUNEWIN_CORPUS), by the Windows binary under Wine and by the
#    Linux binary, and compares them; packages made by one are verified by the other.
#
# INTUNEWIN_SMOKE_KEEP=1 keeps the outputs of every check (printed at the end).
#
# Prints one line per check, then `windows: N passed, N failed, N skipped`; exits non-zero on a
# failure. With CI=true a missing prerequisite (a failed install, no corpus) is a failure;
# otherwise it is a skip with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

in_ci() { [[ "${CI:-}" == [Tt][Rr][Uu][Ee] || "${CI:-}" == 1 ]]; }

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); echo "ok    $1"; }
fail() {
  failed=$((failed + 1))
  echo "FAIL  $1${2:+: $2}"
}
skip() {
  if in_ci; then
    fail "$1" "missing prerequisite: $2 (CI=true)"
  else
    skipped=$((skipped + 1))
    echo "skip  $1: $2"
  fi
}
summary() {
  echo "windows: $passed passed, $failed failed, $skipped skipped"
  [[ $failed == 0 ]]
}
seconds() { date +%s; }

# --- 1. install --------------------------------------------------------------------------------

packages=(rustc-web cargo-web rust-web-src libstd-rust-web-dev gcc-mingw-w64-x86-64 wine64)
wine=/usr/lib/wine/wine64
rustc=/usr/bin/rustc
cargo=/usr/bin/cargo

installed() {
  [[ -x $wine && -x $rustc && -x $cargo && -d /usr/lib/rustlib/src/rust/library ]] \
    && command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1
}

install() {
  installed && return 0
  command -v apt-get >/dev/null 2>&1 || return 1
  apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
}

start=$(seconds)
if ! install || ! installed; then
  skip "install" "could not install ${packages[*]} (apt-get install them)"
  summary
  exit
fi
install_s=$(($(seconds) - start))

# --- 2. build ----------------------------------------------------------------------------------

target=x86_64-pc-windows-gnu
target_dir=${CARGO_TARGET_DIR:-$repo/target}/windows
exe=$target_dir/$target/release/intunewin.exe

build_exe() {
  # Debian's rustc 1.96 (rustup's in ~/.cargo/bin shadows it on PATH) with its std source;
  # RUSTC_BOOTSTRAP allows -Zbuild-std on a stable compiler. CC/AR build mimalloc's C part.
  # No debug info: the release profile's line tables are DWARF, which no Windows tool reads,
  # and they made the exe 51 MB.
  RUSTC_BOOTSTRAP=1 RUSTC=$rustc \
    CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc \
    AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar \
    "$cargo" build --quiet --locked -Zbuild-std=std,panic_abort --target "$target" --release \
    -p intunewin-cli --target-dir "$target_dir"
}

start=$(seconds)
if ! build_exe; then
  fail "build intunewin.exe"
  summary
  exit 1
fi
build_s=$(($(seconds) - start))
if [[ ${1:-} == build ]]; then
  echo "$exe"
  exit 0
fi

# --- 3. Wine -----------------------------------------------------------------------------------

start=$(seconds)
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/intunewin-wine.XXXXXX")
export WINEPREFIX
work=$(mktemp -d "${TMPDIR:-/tmp}/intunewin-smoke.XXXXXX")
cleanup() {
  "${wine%64}server64" -k >/dev/null 2>&1 || true
  rm -rf "$WINEPREFIX"
  if [[ -n ${INTUNEWIN_SMOKE_KEEP:-} ]]; then
    echo "windows: outputs kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

"$wine" wineboot --init >/dev/null 2>&1
system32=$WINEPREFIX/drive_c/windows/system32
if [[ ! -d $system32 ]]; then
  fail "wine prefix" "wineboot made no $system32"
  summary
  exit 1
fi
if ! x86_64-w64-mingw32-gcc -O2 -shared -o "$system32/bcryptprimitives.dll" \
  ci/bcryptprimitives.c -ladvapi32; then
  fail "stub bcryptprimitives.dll"
  summary
  exit 1
fi
# A program that holds a file open without sharing, as an editor or a virus scan would
# (ci/holdopen.c): Wine enforces Windows' sharing rules, so "--force over an open output" runs.
holdopen=$WINEPREFIX/drive_c/holdopen.exe
if ! x86_64-w64-mingw32-gcc -O2 -municode -o "$holdopen" ci/holdopen.c; then
  fail "build holdopen.exe"
  summary
  exit 1
fi
# One Wine server for the whole run, its services started now: a service started by a later
# run would inherit that run's output pipes and keep them open (a test reading them to the end
# would wait for ever).
# (The server wineboot --init started would not take -p: it goes first.)
"${wine%64}server64" -k >/dev/null 2>&1 || true
"${wine%64}server64" -w >/dev/null 2>&1 || true
"${wine%64}server64" -p >/dev/null 2>&1 || true
"$wine" wineboot >/dev/null 2>&1 </dev/null
wine_s=$(($(seconds) - start))

if [[ ${1:-} == tests ]]; then
  shift
  # The test binary runs here; the binary under test is intunewin.exe under Wine. Tests that
  # cannot apply to a Windows binary say so and stop (tests/util.rs, not_for_windows_binary).
  INTUNEWIN_BIN=$exe INTUNEWIN_RUNNER=$wine \
    cargo test -p intunewin-cli --test integration -- --test-threads 2 "$@"
  exit
fi

# The Linux binary (already built by `cargo test`; a no-op then).
cargo build --quiet -p intunewin-cli || {
  fail "build the Linux binary"
  summary
  exit 1
}
linux=${CARGO_TARGET_DIR:-$repo/target}/debug/intunewin

# --- 4. smoke suite ----------------------------------------------------------------------------

start=$(seconds)
cd "$work" || exit 1
cp -r "$repo/testdata/sample-app" sample-app

# A Unix path as Windows programs see it under Wine (drive Z: is /).
winpath() { local p=${1//\//\\}; printf 'Z:%s' "$p"; }

# Runs one binary: `run win|lin NAME ARGS...`; stdout, stderr and the exit code go to
# NAME.win.out/.err/.rc (or .lin.*). Outputs differ only in the path separators and timings.
run() {
  local which=$1 name
  name=$(key "$2")
  shift 2
  local status=0
  if [[ $which == win ]]; then
    "$wine" "$exe" "$@" >"$name.win.out" 2>"$name.win.err" </dev/null || status=$?
  else
    "$linux" "$@" >"$name.lin.out" 2>"$name.lin.err" </dev/null || status=$?
  fi
  echo "$status" >"$name.$which.rc"
}

# The file name for a check's outputs (`help /?` holds a `/`).
key() { printf '%s' "${1//[^A-Za-z0-9._-]/_}"; }
# A check's recorded exit code or output: `result NAME win|lin rc|out|err`.
result() { cat "$(key "$1").$2.$3"; }

# The file name for a check's outputs (`help /?` holds a `/`).
key() { printf '%s' "${1//[^A-Za-z0-9._-]/_}"; }
# A check's recorded exit code or output: `result NAME win|lin rc|out|err`.
result() { cat "$(key "$1").$2.$3"; }

# Output with the differences that are not differences masked: timings, speeds, `\` vs `/`,
# Windows line ends, the Wine drive, the OS's wording of an OS error (its code stays).
normalize() {
  sed -E -e 's/\r$//' -e 's#\\\\#/#g' -e 's#\\#/#g' -e 's#Z:/#/#g' \
    -e 's/in [0-9]+\.[0-9]+ s/in T s/g' -e 's/within [0-9]+ milliseconds/within T milliseconds/g' -e 's/\([0-9.]+ MB\/s\)/(R MB\/s)/g' \
    -e 's/"(elapsedSeconds|elapsed_seconds)": *[0-9.e+-]+/"\1": T/g' \
    -e 's/\(([^()]*) \(os error ([0-9]+)\)\)/(os error \2)/g' "$1"
}

# `same NAME EXPECTED_RC ARGS...`: both binaries, same exit code (the expected one), same
# stdout and stderr once normalized.
same() {
  local name=$1 expect=$2
  shift 2
  run win "$name" "$@"
  run lin "$name" "$@"
  compare "$name" "$expect"
}

# `compare NAME EXPECTED_RC`: the recorded runs of both binaries agree.
compare() {
  local name=$1 expect=$2
  local k wrc lrc
  k=$(key "$name")
  wrc=$(<"$k.win.rc") lrc=$(<"$k.lin.rc")
  if [[ $wrc != "$expect" || $lrc != "$expect" ]]; then
    fail "$name" "exit codes: windows $wrc, linux $lrc, expected $expect; windows stderr: $(head -c 300 "$k.win.err")"
  elif ! diff <(normalize "$k.win.out") <(normalize "$k.lin.out") >"$k.diff"; then
    fail "$name" "stdout differs: $(head -c 600 "$k.diff")"
  elif ! diff <(normalize "$k.win.err") <(normalize "$k.lin.err") >"$k.diff"; then
    fail "$name" "stderr differs: $(head -c 600 "$k.diff")"
  else
    pass "$name"
  fi
}

# `same_write NAME EXPECTED_RC OUTPUT ARGS...`: as `same`, for a command that writes OUTPUT: the
# Windows binary's output is moved to OUTPUT.win before the Linux binary writes its own.
same_write() {
  local name=$1 expect=$2 output=$3
  shift 3
  run win "$name" "$@"
  [[ -e $output ]] && mv "$output" "$output.win"
  run lin "$name" "$@"
  compare "$name" "$expect"
}

# `win_ok NAME EXPECTED_RC ARGS...`: the Windows binary alone.
win_ok() {
  local name=$1 expect=$2
  shift 2
  run win "$name" "$@"
  local rc
  rc=$(result "$name" win rc)
  if [[ $rc == "$expect" ]]; then
    pass "$name"
  else
    fail "$name" "exit code $rc, expected $expect; stderr: $(result "$name" win err | head -c 300)"
  fi
}

# `same_files NAME DIR_A DIR_B`: two trees with the same files and bytes.
same_files() {
  if diff -r "$2" "$3" >"$(key "$1").diff" 2>&1; then
    pass "$1"
  else
    fail "$1" "$(head -c 600 "$(key "$1").diff")"
  fi
}

# `same_bytes NAME FILE_A FILE_B`
same_bytes() {
  if cmp "$2" "$3" >"$(key "$1").diff" 2>&1; then
    pass "$1"
  else
    fail "$1" "$(head -c 300 "$(key "$1").diff")"
  fi
}

# -- the binary starts, and the version and help switches
same "version -v" 0 -v
same "version --version" 0 --version
same "help -h" 0 -h
same "help /?" 0 '/?'
same "help -?" 0 '-?'
same "usage error" 2 pack

# -- pack the sample app, modern and IntuneWinAppUtil forms; `\` in -s and -o
win_ok "pack (windows)" 0 pack 'sample-app' -s Install.ps1 -o 'out\win' --json
run lin "pack (linux)" pack sample-app -s Install.ps1 -o out/lin --json
if [[ $(result "pack (linux)" lin rc) == 0 ]]; then pass "pack (linux)"; else fail "pack (linux)"; fi
win_ok "pack compat -s with backslashes (windows)" 0 -c sample-app -s 'Files\Config\settings.json' -o 'out\win-compat' -q
run lin "pack compat (linux)" -c sample-app -s 'Files/Config/settings.json' -o out/lin-compat -q
if [[ $(result "pack compat (linux)" lin rc) == 0 ]]; then pass "pack compat (linux)"; else fail "pack compat (linux)"; fi
win_ok "pack -s sub\\setup with absolute paths (windows)" 0 pack "$(winpath "$work/sample-app")" \
  -s 'Files\readme.txt' -o "$(winpath "$work/out/win-abs")" --json
same "pack --exclude with backslashes" 0 pack sample-app -s Install.ps1 --exclude 'Files\Config' \
  -o out/exclude.intunewin --force --json
same "list after --exclude" 0 list out/exclude.intunewin --json
same "pack refuses an existing output" 2 pack sample-app -s Install.ps1 -o out/exclude.intunewin
same "pack setup not found" 2 pack sample-app -s 'Files\missing.exe' -o out/none
same "check sample-app" 0 check sample-app --json
same_write "pack, human output" 0 out/human pack sample-app -s Install.ps1 -o out/human
same_write "pack, output folder ending in /" 0 out/human2 pack sample-app -s Install.ps1 -o out/human2/
mkdir -p out/compat-human
same_write "compat form, human output" 0 out/compat-human/readme.intunewin \
  -c sample-app -s Files/readme.txt -o out/compat-human
# An absolute source, as each OS writes it: the messages name it as given, never as \\?\Z:\...
mkdir -p out/abs
run win "compat form, absolute source" -c "$(winpath "$work/sample-app")" -s 'Files\readme.txt' -o out/abs
mv out/abs/readme.intunewin out/abs/readme.intunewin.win
run lin "compat form, absolute source" -c "$work/sample-app" -s Files/readme.txt -o out/abs
compare "compat form, absolute source" 0
same "check an absolute source" 0 check "$work/sample-app"
same "compat form, output folder missing, no terminal to ask" 2 -c sample-app -s Files/readme.txt -o out/compat-missing
same "compat form, setup not found" 2 -c sample-app -s missing.exe -o out/none -q
same "pack, source not found" 2 pack no-such-folder -s Install.ps1 -o out/none
same "check a source folder, human output" 0 check sample-app

# Paths past Windows' 260-character MAX_PATH: a package whose full path (Z:\tmp\...) passes 260
# characters in a folder just under it (Wine 8 cannot canonicalize a folder past MAX_PATH:
# GetFinalPathNameByHandleW fails with os error 234 there, which real Windows does not), and
# files extracted past it.
long=out/$(printf 'd%.0s' {1..120})/$(printf 'e%.0s' {1..80})
long_pkg=$long/$(printf 'f%.0s' {1..30}).intunewin
mkdir -p "$long"
same_write "pack to a file past MAX_PATH" 0 "$long_pkg" \
  pack sample-app -s Install.ps1 -o "$long_pkg" -q
same_write "extract to files past MAX_PATH" 0 "$long/x" extract "$long_pkg" -o "$long/x" -q
same_files "extracted past MAX_PATH: same files" "$long/x.win" "$long/x"
cp "$long_pkg" "$long_pkg.before"
win_ok "pack over a package past MAX_PATH (--force)" 0 pack sample-app -s Install.ps1 \
  -o "$long_pkg" -q --force
if cmp -s "$long_pkg" "$long_pkg.before"; then
  fail "pack over a package past MAX_PATH (--force) replaced it" "the package is unchanged"
else
  pass "pack over a package past MAX_PATH (--force) replaced it"
fi

# --force never replaces a read-only output (Wine shows a file without write bits as
# FILE_ATTRIBUTE_READONLY): both binaries refuse it the same way and leave it as it was.
mkdir -p out/readonly
cp "$long_pkg.before" out/readonly/locked.intunewin
chmod a-w out/readonly/locked.intunewin
same "pack --force over a read-only package is refused" 2 pack sample-app -s Install.ps1 \
  -o out/readonly/locked.intunewin -q --force
if cmp -s out/readonly/locked.intunewin "$long_pkg.before"; then
  pass "the read-only package is unchanged"
else
  fail "the read-only package is unchanged" "it was replaced"
fi

# An output another program holds open: Windows refuses to replace or move it. `--force` must
# fail with a write error naming the output and a hint, and leave everything as it was: the open
# package unchanged and no temporary file beside it; an `extract --force` that would replace an
# open file puts back every file it had already replaced.
# `held NAME FILE RC ARGS...`: run the Windows binary while FILE is held open.
held() {
  local name=$1 file=$2 expect=$3
  shift 3
  rm -f held.ready held.release
  "$wine" "$holdopen" "$(winpath "$work/$file")" held.ready held.release &
  local holder=$!
  for _ in $(seq 200); do [[ -e held.ready ]] && break; sleep 0.05; done
  if [[ ! -e held.ready ]]; then
    fail "$name" "holdopen.exe did not open $file"
    kill "$holder" 2>/dev/null
    return
  fi
  win_ok "$name" "$expect" "$@"
  touch held.release
  wait "$holder"
}
mkdir -p out/open
cp "$long_pkg.before" out/open/app.intunewin
held "pack --force over a package open in another program: refused" out/open/app.intunewin 2 \
  pack sample-app -s Install.ps1 -o 'out\open\app.intunewin' --force
if cmp -s out/open/app.intunewin "$long_pkg.before" && [[ $(ls -A out/open) == app.intunewin ]]; then
  pass "the open package is unchanged, no temporary file left"
else
  fail "the open package is unchanged, no temporary file left" "$(ls -A out/open)"
fi
if grep -q 'another program may have the file open' \
  "$(key "pack --force over a package open in another program: refused").win.err"; then
  pass "the refusal says the file may be open in another program"
else
  fail "the refusal says the file may be open in another program" \
    "$(result "pack --force over a package open in another program: refused" win err)"
fi
run lin "extract for the open-file check" extract out/lin/Install.intunewin -o out/open/x -q
echo stale >out/open/x/Uninstall.ps1
echo mine >out/open/x/keep.txt
(cd out/open/x && find . -type f -exec md5sum {} + | sort) >open.before
held "extract --force over a folder with a file open: refused" out/open/x/Install.ps1 2 \
  extract out/lin/Install.intunewin -o 'out\open\x' --force
if diff <(cd out/open/x && find . -type f -exec md5sum {} + | sort) open.before >open.diff \
  && [[ $(ls -A out/open) == "app.intunewin"$'\n'"x" ]]; then
  pass "the folder is as it was (replaced files put back), nothing left beside it"
else
  fail "the folder is as it was (replaced files put back), nothing left beside it" \
    "$(head -c 300 open.diff; ls -A out/open)"
fi

# Ctrl-C: Wine turns SIGINT into a CTRL_C_EVENT for the program, which stops, says so, exits 130
# and leaves no partial output (as on Linux). The source is random data packed at level 9 on one
# thread; the signal is sent as soon as the pack has started writing its temporary output. A
# pack that still finished first (a fast idle machine) is tried again, up to five times.
mkdir -p big out/big
head -c 200M /dev/urandom >big/data.bin
echo setup >big/setup.exe
for attempt in 1 2 3 4 5; do
  rm -rf out/big && mkdir -p out/big
  "$wine" "$exe" pack big -s setup.exe -o 'out\big' -q --level 9 --threads 1 >big.out 2>big.err &
  packer=$!
  for _ in $(seq 1200); do [[ -n $(ls -A out/big) ]] && break; sleep 0.02; done
  kill -INT "$packer"
  wait "$packer"
  big_rc=$?
  [[ $big_rc == 0 ]] || break
done
if [[ $big_rc == 130 ]] && grep -q interrupted big.err && [[ -z $(ls -A out/big) ]]; then
  pass "Ctrl-C during pack: exit 130, no partial output (try $attempt)"
else
  fail "Ctrl-C during pack: exit 130, no partial output" \
    "exit $big_rc after $attempt tries; $(head -c 300 big.err); left: $(ls -A out/big)"
fi
rm -rf big

# Non-ASCII names (UTF-8 on Linux, UTF-16 on Windows): packed, listed and extracted alike.
mkdir -p unicode/Files
echo hi >unicode/Files/'Zürich — 日本語 ñ.txt'
echo setup >unicode/'Setup é.ps1'
same_write "pack non-ASCII names" 0 out/unicode.intunewin \
  pack unicode -s 'Setup é.ps1' -o out/unicode.intunewin -q
same "list non-ASCII names" 0 list out/unicode.intunewin
same "list non-ASCII names --json" 0 list out/unicode.intunewin --json
# On a console (Wine gives the program one when it runs in a terminal: a pseudo-terminal here),
# Rust writes UTF-16 through WriteConsoleW; the names must come out whole, not as `?` or mojibake.
if command -v script >/dev/null 2>&1; then
  LANG=C.UTF-8 script -qec "$wine $exe list out/unicode.intunewin" /dev/null >console.out 2>&1
  if grep -q 'Files/Zürich — 日本語 ñ.txt' console.out; then
    pass "non-ASCII names on a Windows console"
  else
    fail "non-ASCII names on a Windows console" "$(head -c 300 console.out | cat -v)"
  fi
else
  skip "non-ASCII names on a Windows console" "no script(1) to give Wine a terminal (apt-get install bsdutils)"
fi
same_write "extract non-ASCII names" 0 out/unicode-x extract out/unicode.intunewin -o out/unicode-x -q
same_files "extracted non-ASCII names: same files" out/unicode-x.win out/unicode-x

# -- cross verification: each binary reads what the other wrote
win_pkg=out/win/Install.intunewin
lin_pkg=out/lin/Install.intunewin
for pair in "win:$win_pkg" "lin:$lin_pkg" "win-compat:out/win-compat/settings.intunewin" \
  "lin-compat:out/lin-compat/settings.intunewin" "win-abs:out/win-abs/readme.intunewin"; do
  made=${pair%%:*} pkg=${pair#*:}
  same "verify the $made package" 0 verify "$pkg" --json
done
if python3 "$repo/ci/zipfields.py" "$win_pkg" >fields.win 2>&1 \
  && python3 "$repo/ci/zipfields.py" "$lin_pkg" >fields.lin 2>&1; then
  if diff fields.win fields.lin >fields.diff; then
    pass "windows and linux packages: outer zip fields and Detection.xml layout"
  else
    fail "windows and linux packages: outer zip fields and Detection.xml layout" "$(head -c 600 fields.diff)"
  fi
else
  fail "read the packages' outer zips" "$(head -c 300 fields.win fields.lin)"
fi
same "diff windows package vs linux package: same files and metadata" 0 diff "$win_pkg" "$lin_pkg" --json
run win "inner zip of the windows package" extract-content "$win_pkg" --output win.blob
run lin "inner zip of the linux package" extract-content "$lin_pkg" --output lin.blob
run lin "decrypt windows blob" decrypt win.blob --package "$win_pkg" --output win-inner.zip
run win "decrypt linux blob" decrypt lin.blob --package "$lin_pkg" --output lin-inner.zip
same_bytes "inner zips of both packages byte-identical" win-inner.zip lin-inner.zip
run win "extract windows package" extract "$lin_pkg" --output 'x\win'
run lin "extract linux package" extract "$win_pkg" --output x/lin
same_files "extracted by each other's binary: same files and bytes" x/win x/lin
same_files "extracted files equal the source" x/win sample-app
# File times: each extracted file gets its entry's time (DOS local time, 2-second steps), the
# same from both binaries.
if diff <(cd x/win && find . -type f -exec stat -c '%n %Y' {} + | sort) \
  <(cd x/lin && find . -type f -exec stat -c '%n %Y' {} + | sort) >times.diff; then
  pass "extracted file times: the same from both binaries"
else
  fail "extracted file times: the same from both binaries" "$(head -c 300 times.diff)"
fi

# -- explain
same "explain 0x87D300C9" 0 explain 0x87D300C9
same "explain --list --json" 0 explain --list --json
same "explain unknown code" 2 explain nonsense

# -- every corpus package
corpus=${INTUNEWIN_CORPUS:-$repo/../shared/corpus}
mapfile -t packages < <(ls "$corpus"/real/*.intunewin "$corpus"/nonms/*.intunewin 2>/dev/null)
if [[ ${#packages[@]} == 0 ]]; then
  skip "corpus" "no packages in $corpus/real or nonms (set INTUNEWIN_CORPUS)"
fi
previous=
for pkg in "${packages[@]}"; do
  name=$(basename "$pkg" .intunewin)
  wpkg=$(winpath "$pkg")
  same "info $name" 0 info "$pkg" --json
  # The Windows binary gets the package as Windows names it (Z:\...), the Linux one as /...
  run win "info $name (Z:)" info "$wpkg" --json
  if diff <(result "info $name (Z:)" win out | normalize /dev/stdin) \
    <(result "info $name" lin out | normalize /dev/stdin) >/dev/null; then
    pass "info $name (Z: path)"
  else
    fail "info $name (Z: path)" "$(result "info $name (Z:)" win err | head -c 300)"
  fi
  run lin "verify $name" verify "$pkg" --json
  same "verify $name" "$(result "verify $name" lin rc)" verify "$pkg" --json
  same "list $name" "$(result "verify $name" lin rc)" list "$pkg" --json
  run lin "check $name" check "$pkg" --json
  same "check $name" "$(result "check $name" lin rc)" check "$pkg" --json
  if [[ $(result "verify $name" lin rc) == 0 ]]; then
    run win "extract $name" extract "$wpkg" --output "x\\$name.win"
    run lin "extract $name" extract "$pkg" --output "x/$name.lin"
    if [[ $(result "extract $name" win rc) != 0 || $(result "extract $name" lin rc) != 0 ]]; then
      fail "extract $name" "exit codes: windows $(result "extract $name" win rc), linux $(result "extract $name" lin rc)"
    else
      same_files "extract $name" "x/$name.win" "x/$name.lin"
    fi
    run lin "blob $name" extract-content "$pkg" --output "$name.blob"
    run win "decrypt $name" decrypt "$name.blob" --package "$wpkg" --output "$name.win.zip"
    run lin "decrypt $name" decrypt "$name.blob" --package "$pkg" --output "$name.lin.zip"
    same_bytes "decrypt $name" "$name.win.zip" "$name.lin.zip"
  fi
  same "diff $name with itself" 0 diff "$pkg" "$pkg" --json
  if [[ -n $previous ]]; then
    same "diff $name with the previous package" 1 diff "$previous" "$pkg" --json
  fi
  previous=$pkg
done
# What the separator-blind comparisons cannot see: the Windows binary's own spelling.
if grep -q 'wrote out/human/Install.intunewin' "$(key "pack, human output").win.out"; then
  pass "windows output keeps the separator the folder was written with"
else
  fail "windows output keeps the separator the folder was written with" \
    "$(result "pack, human output" win out | tail -1)"
fi
leaks=$(grep -l -F '\\?\' ./*.win.out ./*.win.err 2>/dev/null)
if [[ -z $leaks ]]; then
  pass "no \\\\?\\ paths in any Windows output"
else
  fail "no \\\\?\\ paths in any Windows output" "$leaks"
fi
smoke_s=$(($(seconds) - start))

echo "windows: cost: install ${install_s}s, build ${build_s}s, wine prefix ${wine_s}s, smoke suite ${smoke_s}s"
summary
