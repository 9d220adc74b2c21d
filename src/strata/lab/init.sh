#!/bin/busybox sh
# Strata's lab stand-in OS: the /init of an initramfs built from Debian's kernel and
# busybox (strata.lab.image). It is NOT Flatcar or CoreOS: it does the part of their
# first boot that Strata can observe — read the Ignition URL from the kernel command
# line, fetch the node's config, apply its hostname, phone home — and then idles as an
# "installed" server would. With real OS artifacts in the mirror, the same boot recipe
# boots the real thing.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /etc
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "strata-lab: $*" > /dev/console; }
say "stand-in OS for the Strata lab (not a real OS install)"
for module in $(cat /modules/order); do insmod "/modules/$module.ko" 2>/dev/null; done

arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | head -n 1; }
url=$(arg ignition.config.url)                              # Flatcar, FCOS, RHCOS live
[ -n "$url" ] || url=$(arg flatcar.config.url)             # Flatcar's older spelling
[ -n "$url" ] || url=$(arg coreos.inst.ignition_url)       # coreos-installer's
bootif=$(arg BOOTIF | sed 's/^01-//; s/-/:/g')               # the NIC iPXE booted from

nic=""
for dev in /sys/class/net/*; do
  [ "$(cat "$dev/address")" = "$bootif" ] && nic=${dev##*/}
done
[ -n "$nic" ] || nic=eth0
ip link set lo up
ip link set "$nic" up
cat > /tmp/dhcp.sh <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr flush dev "$interface"
ip addr add "$ip/${mask:-24}" dev "$interface"
[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
echo "${router%% *}" > /tmp/router
SCRIPT
chmod +x /tmp/dhcp.sh
udhcpc -i "$nic" -q -n -t 10 -s /tmp/dhcp.sh > /dev/console 2>&1 || say "no DHCP answer on $nic"

if [ -z "$url" ]; then
  say "no Ignition URL on the kernel command line: nothing to do"
else
  say "fetching Ignition config"
  tries=0
  until wget -q -O /tmp/config.ign "$url"; do
    tries=$((tries + 1)); [ $tries -ge 10 ] && break; sleep 2
  done
  name=$(grep -o '"path": *"/etc/hostname"[^}]*"source": *"data:,[^"]*' /tmp/config.ign | sed 's/.*data:,//')
  [ -n "$name" ] && hostname "$name" && say "hostname $name"
  events=$(grep -o 'http://[^"\\ ]*/events/[^"\\ ]*event=installed' /tmp/config.ign | head -n 1)
  if [ -n "$events" ]; then
    wget -q -O /dev/null --post-data= "$events" && say "reported installed"
    wget -q -O /dev/null --post-data= "${events%installed}first-boot" && say "reported first-boot"
  fi
  # Kubernetes cannot run here (TCG): hand the config to the lab, which runs the real
  # programs on this machine's behalf from it (strata.lab.kube_daemon, at the router)
  router=$(cat /tmp/router 2>/dev/null)
  if [ -n "$router" ]; then
    tries=0
    until wget -q -O /dev/null --post-file=/tmp/config.ign "http://$router:9180/v1/ignition"; do
      tries=$((tries + 1)); [ $tries -ge 10 ] && break; sleep 2
    done
    [ $tries -lt 10 ] && say "handed the config to the lab's Kubernetes stand-in"
  fi
fi
say "up"
while true; do sleep 3600; done
