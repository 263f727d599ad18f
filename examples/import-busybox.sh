#!/usr/bin/env bash
# Makes `busybox:latest` on a machine with no registry access: a root file
# system holding Debian's static busybox and its applets, imported through
# `docker import`. The example task definitions run on this image.
set -euo pipefail
BUSYBOX=${BUSYBOX:-/bin/busybox}
IMAGE=${1:-busybox:latest}
if [ ! -x "$BUSYBOX" ]; then
  echo "import-busybox: $BUSYBOX not found; install it with: apt-get install busybox-static" >&2
  exit 1
fi
if ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' && ldd "$BUSYBOX" >/dev/null 2>&1; then
  echo "import-busybox: $BUSYBOX is dynamically linked; install busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/var/www"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
tar -C "$root" -c . | docker import \
  --change 'CMD ["sh"]' \
  --change 'ENV PATH=/bin' \
  --change 'LABEL ecs-run-local.role=example-image' \
  - "$IMAGE" >/dev/null
echo "imported $IMAGE"
