#!/usr/bin/env bash
# Daybreak on-instance setup (Amazon Linux 2023 or Debian 12). Idempotent: run it again after
# every code update; it keeps your config.json, your /etc/daybreak/daybreak.env and your data.
#
#   sudo deploy/install.sh [--start] [--repo URL [--ref REF]] [--region R] [--secret-id ID]
#                          [--table-prefix P] [--log-group G] [--namespace N] [--no-swap]
#
# Defaults for the AWS values come from /etc/daybreak/stack.env, which the CloudFormation stack's
# first boot writes. Layout:
#   /opt/daybreak/app     code (root-owned, read-only to the services)
#   /opt/daybreak/venv    Python 3.11 virtualenv with requirements.txt
#   /var/lib/daybreak     config.json, data/, logs/  (user daybreak; the only writable path)
#   /etc/daybreak         stack.env (managed here) and daybreak.env (yours; never overwritten)
# Units: daybreak-bot, daybreak-dashboard, daybreak-heartbeat.timer (enabled; started with
# --start, restarted if already running). See deploy/README.md.
set -euo pipefail

PREFIX=/opt/daybreak
APP=$PREFIX/app
VENV=$PREFIX/venv
STATE=/var/lib/daybreak
ETC=/etc/daybreak
SVC_USER=daybreak
UNITS=(daybreak-bot.service daybreak-dashboard.service daybreak-heartbeat.service daybreak-heartbeat.timer)
CWA_CTL=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
CWA_CONF=/opt/aws/amazon-cloudwatch-agent/etc/daybreak.json

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
START=no SWAP=yes REPO="" REF=main
AWS_DEFAULT_REGION="" DAYBREAK_SECRET_ID="" DAYBREAK_TABLE_PREFIX="" DAYBREAK_LOG_GROUP="" DAYBREAK_METRIC_NAMESPACE=""
if [ -r "$ETC/stack.env" ]; then
  # shellcheck source=/dev/null
  . "$ETC/stack.env"
fi

while [ $# -gt 0 ]; do
  case "$1" in
    --start) START=yes ;;
    --no-swap) SWAP=no ;;
    --repo) REPO="${2:?--repo needs a URL}"; shift ;;
    --ref) REF="${2:?--ref needs a branch or tag}"; shift ;;
    --region) AWS_DEFAULT_REGION="${2:?--region needs a value}"; shift ;;
    --secret-id) DAYBREAK_SECRET_ID="${2:?--secret-id needs a value}"; shift ;;
    --table-prefix) DAYBREAK_TABLE_PREFIX="${2:?--table-prefix needs a value}"; shift ;;
    --log-group) DAYBREAK_LOG_GROUP="${2:?--log-group needs a value}"; shift ;;
    --namespace) DAYBREAK_METRIC_NAMESPACE="${2:?--namespace needs a value}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || die "run as root (sudo $0)"

# 1. OS packages, only what is missing -------------------------------------------------------
need=()
if command -v dnf >/dev/null; then
  command -v python3.11 >/dev/null || need+=(python3.11 python3.11-pip)
  command -v git >/dev/null || need+=(git)
  command -v openssl >/dev/null || need+=(openssl)
  [ -x "$CWA_CTL" ] || need+=(amazon-cloudwatch-agent)
  if [ ${#need[@]} -gt 0 ]; then say "dnf install ${need[*]}"; dnf install -y -q "${need[@]}"; fi
elif command -v apt-get >/dev/null; then
  /usr/bin/python3 -c 'import sys, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null || need+=(python3 python3-venv)
  command -v git >/dev/null || need+=(git)
  command -v openssl >/dev/null || need+=(openssl)
  if [ ${#need[@]} -gt 0 ]; then say "apt-get install ${need[*]}"; apt-get update -qq; apt-get install -y -qq "${need[@]}"; fi
fi
# A system-wide interpreter: the venv links to it, and the service user must be able to run it.
PY=""
for cand in /usr/bin/python3.11 /usr/bin/python3 /usr/local/bin/python3.11; do
  if [ -x "$cand" ] && "$cand" -c 'import sys, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then PY=$cand; break; fi
done
[ -n "$PY" ] || die "no system-wide Python >= 3.11 with venv support (install python3.11)"

# 2. Service user and directories --------------------------------------------------------------
if ! id -u "$SVC_USER" >/dev/null 2>&1; then
  say "create system user $SVC_USER"
  useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /sbin/nologin "$SVC_USER"
fi
install -d -o root -g root -m 0755 "$PREFIX" "$ETC"
install -d -o "$SVC_USER" -g "$SVC_USER" -m 0750 "$STATE" "$STATE/data" "$STATE/logs"

# 3. Code: a fresh clone (--repo) or this checkout, swapped in whole ----------------------------
if [ -n "$REPO" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  say "git clone $REPO ($REF)"
  git clone -q --depth 1 --branch "$REF" "$REPO" "$tmp/src"
  SRC="$tmp/src"
fi
if [ "$SRC" != "$APP" ]; then
  say "copy code $SRC -> $APP"
  rm -rf "$APP.new" "$APP.old"
  mkdir -p "$APP.new"
  tar -C "$SRC" --exclude=./.git --exclude=./.venv --exclude=./logs --exclude=./reports \
      --exclude='./data/*.db*' --exclude=./data/candles --exclude=./.tools/node_modules \
      --exclude=__pycache__ --exclude=.pytest_cache --exclude=.hypothesis -cf - . | tar -C "$APP.new" -xf -
  chown -R root:root "$APP.new"
  chmod -R u=rwX,go=rX "$APP.new"
  if [ -d "$APP" ]; then mv "$APP" "$APP.old"; fi
  mv "$APP.new" "$APP"
  rm -rf "$APP.old"
fi

# 4. Virtualenv, reinstalled only when requirements.txt changed ---------------------------------
[ -x "$VENV/bin/python" ] || { say "create venv $VENV with $PY"; "$PY" -m venv "$VENV"; }
runuser -u "$SVC_USER" -- "$VENV/bin/python" -c 'pass' \
  || die "user $SVC_USER cannot run $VENV/bin/python; remove $VENV and run again"
want=$(sha256sum "$APP/requirements.txt" | cut -d' ' -f1)
have=$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  say "pip install -r requirements.txt (a few minutes on a t4g.nano)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$APP/requirements.txt"
  echo "$want" >"$VENV/.requirements.sha256"
fi

# 5. Environment files ---------------------------------------------------------------------------
say "write $ETC/stack.env"
umask 022
cat >"$ETC/stack.env" <<EOF
# Managed by deploy/install.sh (values from the CloudFormation stack). Your own settings go in daybreak.env.
AWS_DEFAULT_REGION=$AWS_DEFAULT_REGION
DAYBREAK_SECRET_ID=$DAYBREAK_SECRET_ID
DAYBREAK_TABLE_PREFIX=$DAYBREAK_TABLE_PREFIX
DAYBREAK_LOG_GROUP=$DAYBREAK_LOG_GROUP
DAYBREAK_METRIC_NAMESPACE=$DAYBREAK_METRIC_NAMESPACE
EOF
if [ ! -e "$ETC/daybreak.env" ]; then
  say "create $ETC/daybreak.env"
  install -o root -g "$SVC_USER" -m 0640 /dev/null "$ETC/daybreak.env"
  cat >"$ETC/daybreak.env" <<'EOF'
# Your settings for the Daybreak services (read by systemd; restart the bot after editing).
# Live orders need ALL of: "mode": "live" in /var/lib/daybreak/config.json, keys in the
# Secrets Manager secret (DAYBREAK_SECRET_ID in stack.env), and this line uncommented:
#DAYBREAK_LIVE_CONFIRM=yes
# The dashboard shows nothing until you log in with the password whose hash is here (or in the
# secret's "dashboard_password_hash"): bot.py dashboard-password prints one. Keep the single quotes.
#DAYBREAK_DASHBOARD_PASSWORD_HASH='$argon2id$v=19$...'
# Alerts (apprise URLs, space separated), unless they are in the secret's "notify_urls":
#DAYBREAK_NOTIFY_URLS=tgram://BOT_TOKEN/CHAT_ID
EOF
fi

# 6. config.json: created once (paper mode; DynamoDB when the stack gave a table prefix) ---------
if [ ! -e "$STATE/config.json" ]; then
  say "create $STATE/config.json (paper mode)"
  (cd "$APP" && runuser -u "$SVC_USER" -- "$VENV/bin/python" - "$APP/config.json" "$STATE/config.json" \
      "$AWS_DEFAULT_REGION" "$DAYBREAK_TABLE_PREFIX" <<'EOF'
import json, sys
from daybreak.ops.config_file import save_config_atomic
src, dst, region, prefix = sys.argv[1:5]
with open(src, encoding="utf-8") as fh:
    data = json.load(fh)
data["mode"] = "paper"
if prefix:
    data["storage"] = {"backend": "dynamodb", "region": region or "us-east-1", "table_prefix": prefix}
save_config_atomic(data, dst)
EOF
  )
  chmod 0640 "$STATE/config.json"
else
  say "keep existing $STATE/config.json"
fi

# 6b. TLS for the dashboard: a self-signed certificate Streamlit serves (replace both files with
# your own certificate to get rid of the browser warning; install.sh keeps existing ones) ---------
TLS=$STATE/tls
if [ ! -s "$TLS/dashboard.crt" ] || [ ! -s "$TLS/dashboard.key" ]; then
  say "create a self-signed TLS certificate for the dashboard in $TLS"
  install -d -o "$SVC_USER" -g "$SVC_USER" -m 0700 "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=daybreak-dashboard" \
    -keyout "$TLS/dashboard.key" -out "$TLS/dashboard.crt" 2>/dev/null
  chown "$SVC_USER:$SVC_USER" "$TLS/dashboard.key" "$TLS/dashboard.crt"
  chmod 0600 "$TLS/dashboard.key"
  openssl x509 -in "$TLS/dashboard.crt" -noout -fingerprint -sha256 | sed 's/^/==> dashboard certificate /'
fi

# 7. Swap: 1 GiB when RAM is under 1.5 GiB (t4g.nano has 0.5 GiB) -------------------------------
mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
if [ "$SWAP" = yes ] && [ "$mem_kb" -lt 1572864 ] && ! swapon --show=NAME --noheadings | grep -q .; then
  if [ ! -e /swapfile ]; then
    say "create 1 GiB /swapfile"
    dd if=/dev/zero of=/swapfile bs=1M count=1024 status=none
    chmod 0600 /swapfile
    mkswap /swapfile >/dev/null
  fi
  swapon /swapfile || say "warning: swapon /swapfile failed; continuing without swap"
  grep -q '^/swapfile ' /etc/fstab || echo '/swapfile none swap defaults 0 0' >>/etc/fstab
fi

# 8. CloudWatch agent ships $STATE/logs/daybreak.log to the stack's log group --------------------
if [ -x "$CWA_CTL" ] && [ -n "$DAYBREAK_LOG_GROUP" ]; then
  say "configure CloudWatch agent -> $DAYBREAK_LOG_GROUP"
  "$PY" - "$APP/deploy/cloudwatch-agent.json" "$CWA_CONF" "$DAYBREAK_LOG_GROUP" <<'EOF'
import json, sys
src, dst, group = sys.argv[1:4]
with open(src, encoding="utf-8") as fh:
    conf = json.load(fh)
for item in conf["logs"]["logs_collected"]["files"]["collect_list"]:
    item["log_group_name"] = group
with open(dst, "w", encoding="utf-8") as fh:
    json.dump(conf, fh, indent=2)
EOF
  "$CWA_CTL" -a fetch-config -m ec2 -s -c "file:$CWA_CONF" >/dev/null
else
  say "skip CloudWatch agent (not installed, or no log group: not on the AWS stack)"
fi

# 9. systemd units --------------------------------------------------------------------------------
if [ -d /run/systemd/system ]; then
  say "install units ${UNITS[*]}"
  for unit in "${UNITS[@]}"; do install -m 0644 "$APP/deploy/systemd/$unit" "/etc/systemd/system/$unit"; done
  systemctl daemon-reload
  systemctl enable -q daybreak-bot.service daybreak-dashboard.service daybreak-heartbeat.timer
  systemctl start daybreak-heartbeat.timer
  if [ "$START" = yes ]; then
    say "start bot and dashboard"
    systemctl restart daybreak-bot.service daybreak-dashboard.service
  else
    systemctl try-restart daybreak-bot.service daybreak-dashboard.service
  fi
else
  say "skip units: systemd is not running here"
fi
say "done. Next steps: deploy/README.md"
