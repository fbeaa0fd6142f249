#!/bin/sh
# `memoryd service install` under a real `systemd --user` manager (tests/acceptance/test_service_systemd.py).
# Run as root inside a private mount namespace (`unshare -m --propagation private`), so that
# nothing here is seen outside it:
#   * a tmpfs over /run/systemd with system/ in it: `systemd --user` refuses to start unless the
#     machine was booted with systemd;
#   * a tmpfs on /mnt for HOME and XDG_RUNTIME_DIR: the unit's PrivateTmp= would hide /tmp ones.
# Arguments: the memoryd executable, the python to seed the sessions with, a file for the
# manager's PID (the test kills it by PID if this script does not get to). Prints key=value
# lines the test checks.
set -u
MEMORYD=$1 PYTHON=$2 PIDFILE=$3
mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/system || exit 90
mount -t tmpfs tmpfs /mnt && mkdir -p /mnt/home /mnt/run && chmod 700 /mnt/run || exit 91
export HOME=/mnt/home XDG_RUNTIME_DIR=/mnt/run
/lib/systemd/systemd --user > /dev/null 2>&1 &
SD=$!
echo "$SD" > "$PIDFILE"
stop_manager() { kill "$SD" 2>/dev/null; wait "$SD" 2>/dev/null; }
trap stop_manager EXIT
wait_until() {  # wait_until SECONDS COMMAND...: poll every 0.1 s
    n=$(($1 * 10)); shift
    while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
is_active() { [ "$(systemctl --user is-active memoryd.service)" = "$1" ]; }
wait_until 20 test -S "$XDG_RUNTIME_DIR/systemd/private" || { echo "manager=none"; exit 92; }
echo "manager=$(systemctl --version | head -1)"
"$PYTHON" -c "from memoryd.demo import install_examples; from pathlib import Path; install_examples(Path('$HOME/.codex/sessions'))"
# This container cannot mount the read-only /proc/sys and /proc/kmsg of these two options
# (226/NAMESPACE even for /bin/true); every other option of the unit stays on.
mkdir -p "$HOME/.config/systemd/user/memoryd.service.d"
printf '[Service]\nProtectKernelTunables=no\nProtectKernelLogs=no\n' \
    > "$HOME/.config/systemd/user/memoryd.service.d/container.conf"
# A checkout under /tmp (a CI clone, say) puts the memoryd executable where the unit's
# PrivateTmp= hides it from the service (203/EXEC): only then is PrivateTmp= switched off too.
case "$MEMORYD" in
    /tmp/*|/var/tmp/*)
        printf 'PrivateTmp=no\n' >> "$HOME/.config/systemd/user/memoryd.service.d/container.conf"
        echo "private_tmp=off" ;;
    *) echo "private_tmp=on" ;;
esac

timeout 90 "$MEMORYD" service install --memoryd "$MEMORYD" > /dev/null 2>&1
echo "install=$?"
wait_until 30 is_active active
echo "active=$(systemctl --user is-active memoryd.service)"
wait_until 180 test -f "$HOME/.codex/memories/MEMORY.md" || tail -5 "$HOME/.local/state/memoryd/logs/memoryd.log"
echo "memory_md=$(test -f "$HOME/.codex/memories/MEMORY.md" && echo yes || echo no)"
echo "status=$("$MEMORYD" status | head -1 | cut -d' ' -f1-2)"
echo "socket=$(ls "$XDG_RUNTIME_DIR/memoryd")"
systemctl --user reload memoryd.service
wait_until 20 grep -q config_reloaded "$HOME/.local/state/memoryd/logs/memoryd.log"
echo "reloaded=$(grep -c config_reloaded "$HOME/.local/state/memoryd/logs/memoryd.log")"
echo "service_status=$("$MEMORYD" service status | tail -1)"
systemctl --user stop memoryd.service
echo "stopped=$(systemctl --user show memoryd.service -p Result --value)"

rm -rf "$HOME/.local/state/memoryd"  # as on a fresh machine
timeout 60 systemctl --user start memoryd.service
echo "fresh_start=$? $(systemctl --user is-active memoryd.service)"
systemctl --user stop memoryd.service

mkdir -p "$HOME/.config/memoryd"
printf '[phase1]\nbackend = "opnai"\n' > "$HOME/.config/memoryd/config.toml"
timeout 60 systemctl --user start memoryd.service > /dev/null 2>&1
sleep 7  # RestartSec=5: a restart, if any, would have happened by now
echo "config_error=$(systemctl --user show memoryd.service -p ExecMainStatus --value)" \
     "$(systemctl --user show memoryd.service -p NRestarts --value)" \
     "$(systemctl --user is-active memoryd.service)"
rm "$HOME/.config/memoryd/config.toml"

"$MEMORYD" service uninstall > /dev/null 2>&1
echo "uninstall=$? $(test -e "$HOME/.config/systemd/user/memoryd.service" && echo kept || echo gone)"
