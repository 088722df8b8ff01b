#!/bin/sh
# The system programs and fonts the tests use, installed through apt-get when one is missing
# (`make test` runs this before pytest): Xvfb and xdotool for the preview-window and kiosk
# tests, Chromium for the control-panel test, Noto CJK and DejaVu fonts for the caption tests.
# Where it cannot install them (no apt-get, no root or sudo, apt-get failing) it prints one
# line saying what to install and exits 1, so no test is ever skipped for want of one.
set -u

packages="xvfb xdotool chromium fonts-noto-cjk fonts-dejavu-core"
chromium="${ARFILTER_CHROMIUM:-/usr/bin/chromium}"  # where tests/test_webcontrol.py looks

missing() {  # what is not here, comma-separated; empty when all is
    out=""
    add() { out="${out:+$out, }$1"; }
    command -v Xvfb >/dev/null 2>&1 || add "Xvfb"
    command -v xdotool >/dev/null 2>&1 || add "xdotool"
    [ -x "$chromium" ] || add "Chromium ($chromium)"
    fc-list :lang=zh 2>/dev/null | grep -q . || add "a CJK font"
    fc-list "DejaVu Sans" 2>/dev/null | grep -q . || add "DejaVu Sans"
    echo "$out"
}

give_up() {  # one line: what is missing and what to run
    echo "make test: missing $1; install them: $2" >&2
    exit 1
}

need="$(missing)"
[ -z "$need" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    give_up "$need" "sudo apt-get install $packages (Debian/Ubuntu; the tests read /proc, so they need Linux)"
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    give_up "$need" "as root, apt-get install $packages"
fi

echo "make test: installing $packages (missing: $need)" >&2
log="$(mktemp "${TMPDIR:-/tmp}/arfilter-apt.XXXXXX")"
apt() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -q "$@" >>"$log" 2>&1; }
# The package lists are refreshed only when the first try fails (an old or empty list).
if ! apt install -y $packages && ! { apt update && apt install -y $packages; }; then
    give_up "$need" "sudo apt-get install $packages (apt-get failed; its output is in $log)"
fi
rm -f "$log"

need="$(missing)"
[ -z "$need" ] || give_up "$need" "apt-get installed $packages but these are still missing; install them by hand"
