#!/bin/sh
# Strata: find the one disk the root device hints pick, on the machine being installed.
#
# Usage: root-device HINTS-FILE
#
# Built the way Ironic's agent picks its root device (ironic-lib find_devices_by_hints):
# every hint must hold, string hints compare lower-cased with padding stripped, a disk
# that lacks the property a hint names does not match it. The hints and their normal
# forms are Strata's (strata/topology/root_device.py, docs/topology.md): model and vendor
# match a substring, serialNumber, wwn and hctl the whole value, minSizeGigabytes is in
# 10^9 bytes, rotational is true or false, deviceName is /dev/NAME or a /dev/disk/by-*
# link to the disk.
#
# HINTS-FILE holds one NAME=VALUE a line; a value is taken as written, never evaluated.
# A disk is a block device in /sys/block backed by a device (not a loop, ram, zram,
# device-mapper or md device), not removable media, not read-only, not empty, not an
# optical or floppy drive. Its properties come from udev's database (ID_MODEL, ID_VENDOR,
# ID_SERIAL_SHORT, ID_WWN_WITH_EXTENSION, ID_WWN: what lsblk shows) and from sysfs
# (device/model, device/vendor, device/serial, serial, wwid, device/wwid, size,
# queue/rotational, device/scsi_device/H:C:T:L); a hint holds if any source agrees.
#
# Prints the stable path of the one matching disk: a /dev/disk/by-id link (wwn-* first,
# then nvme-eui.*, then any other), else a /dev/disk/by-path link, else /dev/NAME.
# Exit 0: found; 2: no disk matches; 3: more than one matches; 1: bad hints file.
# Each disk considered, and why it matches or not, is written to standard error.
#
# STRATA_SYSFS, STRATA_DEVDIR and STRATA_UDEVDB replace /sys, /dev and /run/udev/data
# (the tests run this with dash and busybox sh against a fake tree).

set -u

SYS=${STRATA_SYSFS:-/sys}
DEV=$(cd "${STRATA_DEVDIR:-/dev}" && pwd -P) || exit 1
UDEV=${STRATA_UDEVDB:-/run/udev/data}
UPPER=ABCDEFGHIJKLMNOPQRSTUVWXYZ
LOWER=abcdefghijklmnopqrstuvwxyz

say() { printf 'strata root-device: %s\n' "$*" >&2; }

text_key() { # lower case, _ as a space, runs of white space one space
	_t=$(printf '%s' "$1" | tr "${UPPER}_" "$LOWER ")
	set -f
	# shellcheck disable=SC2086 # split on purpose: this collapses white space
	set -- $_t
	set +f
	printf '%s' "$*"
}

serial_key() { # lower case, no white space or _ at all
	printf '%s' "$1" | tr "${UPPER}_" "$LOWER " | tr -d ' \t\r\n'
}

wwn_key() { # lower case, no white space, no 0x / naa. / eui. prefix
	_w=$(printf '%s' "$1" | tr "$UPPER" "$LOWER" | tr -d ' \t\r\n')
	case $_w in
	0x*) _w=${_w#0x} ;;
	naa.*) _w=${_w#naa.} ;;
	eui.*) _w=${_w#eui.} ;;
	esac
	printf '%s' "$_w"
}

attr() { # the first line of a sysfs attribute, or nothing
	_v=
	[ -r "$1" ] && IFS= read -r _v <"$1"
	printf '%s' "$_v"
}

udev() { # $1: udev database file, $2: property
	[ -r "$1" ] || return 0
	while IFS= read -r _line || [ -n "$_line" ]; do
		case $_line in
		"E:$2="*)
			printf '%s' "${_line#"E:$2="}"
			return 0
			;;
		esac
	done <"$1"
}

# --- the hints ---------------------------------------------------------------

HINTS=${1:-}
[ -n "$HINTS" ] && [ -r "$HINTS" ] || {
	say "usage: root-device HINTS-FILE (one NAME=VALUE a line)"
	exit 1
}
H_NAME= H_HCTL= H_MODEL= H_VENDOR= H_SERIAL= H_WWN= H_SIZE= H_ROT=
SHOWN=
while IFS= read -r line || [ -n "$line" ]; do
	[ -n "$line" ] || continue
	key=${line%%=*}
	value=${line#*=}
	[ "$key" != "$line" ] || {
		say "not NAME=VALUE: a line of $HINTS"
		exit 1
	}
	case $key in
	deviceName) H_NAME=$value ;;
	hctl) H_HCTL=$value ;;
	model) H_MODEL=$(text_key "$value") ;;
	vendor) H_VENDOR=$(text_key "$value") ;;
	serialNumber) H_SERIAL=$(serial_key "$value") ;;
	wwn) H_WWN=$(wwn_key "$value") ;;
	minSizeGigabytes)
		case $value in '' | *[!0-9]*)
			say "minSizeGigabytes is not a whole number"
			exit 1
			;;
		esac
		H_SIZE=$value
		;;
	rotational)
		case $value in true) H_ROT=1 ;; false) H_ROT=0 ;; *)
			say "rotational is not true or false"
			exit 1
			;;
		esac
		;;
	*)
		say "unknown hint '$key'"
		exit 1
		;;
	esac
	SHOWN="$SHOWN${SHOWN:+, }$key=$value"
done <"$HINTS"
[ -n "$SHOWN" ] || {
	say "no hints in $HINTS"
	exit 1
}

# --- one disk ----------------------------------------------------------------

# Sets MISS to the first hint disk $1 fails ("" when all hold), and DESC to its properties.
check_disk() {
	_dir=$SYS/block/$1
	_db=$UDEV/b$(attr "$_dir/dev")
	_sectors=$(attr "$_dir/size")
	_bytes=$((_sectors * 512))
	_rot=$(attr "$_dir/queue/rotational")
	_models=$(printf '%s\n%s' "$(udev "$_db" ID_MODEL)" "$(attr "$_dir/device/model")")
	_vendors=$(printf '%s\n%s' "$(udev "$_db" ID_VENDOR)" "$(attr "$_dir/device/vendor")")
	_serials=$(printf '%s\n%s\n%s' "$(udev "$_db" ID_SERIAL_SHORT)" \
		"$(attr "$_dir/device/serial")" "$(attr "$_dir/serial")")
	_wwns=$(printf '%s\n%s\n%s\n%s' "$(udev "$_db" ID_WWN_WITH_EXTENSION)" \
		"$(udev "$_db" ID_WWN)" "$(attr "$_dir/wwid")" "$(attr "$_dir/device/wwid")")
	_hctl=
	for _h in "$_dir"/device/scsi_device/*; do
		[ -e "$_h" ] && _hctl=${_h##*/}
	done
	DESC="$_bytes bytes, rotational $_rot, hctl '$_hctl', model '$(first "$_models")', vendor '$(first "$_vendors")', serial '$(first "$_serials")', wwn '$(first "$_wwns")'"
	MISS=
	if [ -n "$H_NAME" ] && ! same_device "$H_NAME" "$1"; then MISS=deviceName; fi
	if [ -z "$MISS" ] && [ -n "$H_HCTL" ] && [ "$H_HCTL" != "$_hctl" ]; then MISS=hctl; fi
	if [ -z "$MISS" ] && [ -n "$H_SIZE" ] && [ "$_bytes" -lt $((H_SIZE * 1000000000)) ]; then MISS=minSizeGigabytes; fi
	if [ -z "$MISS" ] && [ -n "$H_ROT" ] && [ "$H_ROT" != "$_rot" ]; then MISS=rotational; fi
	if [ -z "$MISS" ] && [ -n "$H_MODEL" ] && ! any_holds contains "$H_MODEL" "$_models"; then MISS=model; fi
	if [ -z "$MISS" ] && [ -n "$H_VENDOR" ] && ! any_holds contains "$H_VENDOR" "$_vendors"; then MISS=vendor; fi
	if [ -z "$MISS" ] && [ -n "$H_SERIAL" ] && ! any_holds same_serial "$H_SERIAL" "$_serials"; then MISS=serialNumber; fi
	if [ -z "$MISS" ] && [ -n "$H_WWN" ] && ! any_holds same_wwn "$H_WWN" "$_wwns"; then MISS=wwn; fi
}

first() { # the first non-empty line of $1, padding stripped
	printf '%s\n' "$1" | while IFS= read -r _f; do
		set -f
		# shellcheck disable=SC2086 # split on purpose: this strips the padding
		set -- $_f
		set +f
		[ -n "$*" ] && {
			printf '%s' "$*"
			break
		}
	done
}

any_holds() { # $1: test, $2: hint key, $3: the disk's values, one a line
	_test=$1 _want=$2
	_found=$(printf '%s\n' "$3" | while IFS= read -r _each; do
		[ -n "$_each" ] && "$_test" "$_want" "$_each" && {
			echo yes
			break
		}
	done)
	[ -n "$_found" ]
}

contains() { case $(text_key "$2") in *"$1"*) return 0 ;; esac; return 1; }
same_serial() { [ "$(serial_key "$2")" = "$1" ]; }
same_wwn() { [ "$(wwn_key "$2")" = "$1" ]; }

same_device() { # $1: /dev/NAME or a /dev/disk/by-* link, $2: the disk's kernel name
	case $1 in /dev/*) ;; *) return 1 ;; esac
	_path=$DEV${1#/dev}
	[ -e "$_path" ] || return 1
	[ "$(readlink -f "$_path")" = "$DEV/$2" ]
}

stable_path() { # $1: kernel name
	for _link in "$DEV"/disk/by-id/wwn-* "$DEV"/disk/by-id/nvme-eui.* "$DEV"/disk/by-id/* \
		"$DEV"/disk/by-path/*; do
		[ -L "$_link" ] || continue
		case ${_link##*/} in *-part[0-9]*) continue ;; esac
		if [ "$(readlink -f "$_link")" = "$DEV/$1" ]; then
			printf '/dev%s\n' "${_link#"$DEV"}"
			return 0
		fi
	done
	printf '/dev/%s\n' "$1"
}

# --- every disk --------------------------------------------------------------

say "hints: $SHOWN"
MATCHED= COUNT=0
for dir in "$SYS"/block/*; do
	[ -d "$dir" ] || continue
	name=${dir##*/}
	case $name in loop* | ram* | zram* | dm-* | md* | nbd* | sr* | fd*) continue ;; esac
	[ -e "$dir/device" ] || continue
	[ "$(attr "$dir/removable")" != 1 ] || { say "$name: removable media, not a candidate"; continue; }
	[ "$(attr "$dir/ro")" != 1 ] || { say "$name: read-only, not a candidate"; continue; }
	case $(attr "$dir/size") in '' | 0 | *[!0-9]*)
		say "$name: no medium, not a candidate"
		continue
		;;
	esac
	check_disk "$name"
	if [ -z "$MISS" ]; then
		say "$name: $DESC: matches"
		MATCHED="$MATCHED $name"
		COUNT=$((COUNT + 1))
	else
		say "$name: $DESC: does not match $MISS"
	fi
done

case $COUNT in
0)
	say "no disk matches the hints: install refused"
	exit 2
	;;
1)
	path=$(stable_path "${MATCHED# }")
	say "installing to ${MATCHED# } ($path)"
	printf '%s\n' "$path"
	;;
*)
	say "$COUNT disks match the hints (${MATCHED# }): install refused; narrow the hints (serialNumber or wwn)"
	exit 3
	;;
esac
