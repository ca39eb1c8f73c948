#!/usr/bin/env bash
# Installs the social security kiosk on a Debian 12 touch terminal, idempotently:
# a kiosk user, the Debian packages, the application in /opt/ss-kiosk (the config comes from the wizard),
# and the systemd unit that runs it full screen in cage on tty1 from boot.
# Usage (as root, from the source folder): deploy/install.sh
set -euo pipefail

SOURCE=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/ss-kiosk
CONFIG_DIR=/etc/ss-kiosk
DATA_DIR=/var/lib/ss-kiosk
KIOSK_USER=ss-kiosk

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo deploy/install.sh)" >&2
  exit 1
fi

packages=(python3 python3-venv pcscd libpcsclite1 pcsc-tools libccid espeak-ng alsa-utils
          fonts-noto-cjk cage libegl1 libgl1 libfontconfig1 libxkbcommon0 libwayland-client0
          libwayland-cursor0 libwayland-egl1)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if dpkg-query -W -f='${Status}' vsmartcard-vpcd 2>/dev/null | grep -q "install ok installed"; then
  echo "install.sh: warning: vsmartcard-vpcd is installed; its virtual reader listens on the network." >&2
  echo "install.sh: remove it on a hall kiosk: apt-get purge vsmartcard-vpcd" >&2
fi

if ! id "$KIOSK_USER" >/dev/null 2>&1; then
  useradd --system --home-dir "$DATA_DIR" --create-home --shell /usr/sbin/nologin "$KIOSK_USER"
fi
for group in video input render audio; do
  if getent group "$group" >/dev/null; then
    usermod -a -G "$group" "$KIOSK_USER"
  fi
done

install -d -m 0755 "$PREFIX" "$CONFIG_DIR"
install -d -m 0700 -o "$KIOSK_USER" -g "$KIOSK_USER" "$DATA_DIR"
rm -rf "$PREFIX/src"
cp -a "$SOURCE" "$PREFIX/src"
rm -rf "$PREFIX/src/.venv" "$PREFIX/src/.git"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
  python3 -m venv "$PREFIX/venv"
fi
"$PREFIX/venv/bin/python" -m pip install -q --upgrade pip
"$PREFIX/venv/bin/python" -m pip install -q "$PREFIX/src"

# No config is written here: at first boot the kiosk opens its set-up wizard on the touch screen,
# which writes /etc/ss-kiosk/config.toml and the token beside it (docs/deploy.md). The wizard asks first
# for this one-time setup code, so only whoever installed the kiosk can set it up; it is removed once used.
if [ ! -f "$CONFIG_DIR/config.toml" ] && [ ! -s "$CONFIG_DIR/setup-code" ]; then
  # umask 027: never readable by other accounts, not even until the chmod below
  (umask 027; printf '%08d\n' "$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 100000000 ))" > "$CONFIG_DIR/setup-code")
fi
chown -R root:"$KIOSK_USER" "$CONFIG_DIR"
if [ -f "$CONFIG_DIR/setup-code" ]; then
  chmod 0640 "$CONFIG_DIR/setup-code"
fi
# The kiosk writes its config when an admin changes a setting on the staff panel (temp file + rename).
chmod 0770 "$CONFIG_DIR"
# The wizard wrote these as the kiosk user, mode 0600; root owns them now, so the kiosk reads them as its group
# (run again to upgrade, this script would otherwise leave the kiosk unable to read its own token).
if [ -f "$CONFIG_DIR/config.toml" ]; then
  chmod 0660 "$CONFIG_DIR/config.toml"
fi
if [ -f "$CONFIG_DIR/token" ]; then
  chmod 0640 "$CONFIG_DIR/token"
fi

install -m 0644 "$SOURCE/deploy/ss-kiosk.service" /etc/systemd/system/ss-kiosk.service
systemctl daemon-reload
systemctl enable pcscd.socket
systemctl enable ss-kiosk.service
systemctl set-default graphical.target
if [ -f "$CONFIG_DIR/setup-code" ]; then
  echo "install.sh: the set-up wizard will ask for this setup code: $(cat "$CONFIG_DIR/setup-code")"
fi
echo "install.sh: installed. Put the backend's CA (ca.pem) and the kiosk's token on a USB stick, reboot, and"
echo "install.sh: follow the set-up wizard on the touch screen (docs/deploy.md). Check with:"
echo "install.sh: $PREFIX/venv/bin/ss-kiosk doctor --config $CONFIG_DIR/config.toml"
