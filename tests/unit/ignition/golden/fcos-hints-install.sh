#!/bin/sh
# Strata: install fcos 41.20241109.3.0 on lab-cp-0 to the one disk
# its rootDeviceHints pick; if no disk or several match, tell Strata and stop.
report() { /usr/bin/curl --fail --silent --show-error --retry 10 --retry-delay 5 -X POST 'http://10.0.0.1:8080/events/lab-cp-0?token=tok-lab-cp-0&event='"$1"; }
/usr/bin/udevadm settle --timeout=120 || true  # as coreos-installer's service waits
disk=$(/etc/strata/root-device /etc/strata/root-device.hints)
found=$?
case $found in
0) ;;
2) report root-device-not-found; exit 1 ;;
3) report root-device-ambiguous; exit 1 ;;
*) exit 1 ;;
esac
exec /usr/bin/coreos-installer install "$disk" --ignition-file /etc/strata/final.ign --image-url http://10.0.0.1:8080/assets/fcos/41.20241109.3.0/fedora-coreos-41.20241109.3.0-metal.x86_64.raw.xz --fetch-retries infinite
