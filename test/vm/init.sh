#!/bin/busybox sh
# /init of the vigil VM matrix guest. run.sh copies it into the initramfs.
# It mounts what tests expect, runs every test binary listed in
# /vm/manifest, frames each run with markers run.sh parses, and powers off.
# Markers (one per line on the serial console):
#   === VIGIL-VM READY kernel=<uname -r> uptime=<s>
#   === VIGIL-VM BEGIN <pkg>
#   === VIGIL-VM END <pkg> rc=<exit code> seconds=<wall time>
#   === VIGIL-VM DONE
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run /root /var/tmp
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp # rootfs cannot carry fanotify marks
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t securityfs securityfs /sys/kernel/security
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ln -sf /proc/self/fd /dev/fd
hostname vigil-vm
ip link set lo up 2>/dev/null

# A scratch disk filesystem for tests that tmpfs cannot serve (fanotify
# with file handles, filesystem marks): ext2 made by busybox, mounted by
# the built-in ext4 driver on a loop device (run.sh adds the loop module).
ext4=
loop=$(find "/lib/modules/$(uname -r)" -name loop.ko 2>/dev/null | head -n1)
if [ -d /sys/module/loop ] || { [ -n "$loop" ] && insmod "$loop"; }; then
	dev=$(losetup -f) && mkdir -p /mnt/ext4 && truncate -s 128M /run/ext4.img &&
		losetup "$dev" /run/ext4.img && mke2fs -q "$dev" >/dev/null &&
		mount -t ext4 "$dev" /mnt/ext4 && chmod 1777 /mnt/ext4 && ext4=/mnt/ext4
fi
[ -n "$ext4" ] || echo "vm: no scratch ext4 at /mnt/ext4 (loop module: ${loop:-none})"

# Keep kernel messages off the console so they cannot split test output
# lines; panics still print (level 0). dmesg is dumped after the tests.
echo 1 > /proc/sys/kernel/printk

. /vm/env
# vigil.lacks=a,b on the kernel command line (test/vm/kernels.txt): the
# mechanisms this kernel is pinned as lacking, which vmtest.Require skips.
lacks=
for w in $(cat /proc/cmdline); do
	case $w in vigil.lacks=*) lacks=${w#vigil.lacks=} ;; esac
done
export VIGIL_VM_LACKS="$lacks"
export VIGIL_VM=1 VIGIL_VM_KERNEL="$(uname -r)" VIGIL_VM_SRC=/src \
       VIGIL_VM_HELPERS=/vm/helpers VIGIL_VM_EXTRA=/extra \
       VIGIL_VM_MODULES="/lib/modules/$(uname -r)" VIGIL_VM_EXT4="$ext4"

echo
echo "=== VIGIL-VM READY kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
while read -r pkg bin; do
	[ -n "$pkg" ] || continue
	echo "=== VIGIL-VM BEGIN $pkg"
	start=$(cut -d' ' -f1 /proc/uptime)
	# Go runs a test binary in its package's directory; so do we.
	(cd "/src/$pkg" && exec "$bin" -test.v -test.count=1 \
		-test.timeout="$VM_TEST_TIMEOUT" ${VM_RUN:+-test.run "$VM_RUN"} \
		${VM_BENCH:+-test.bench "$VM_BENCH" -test.benchtime 1x} \
		</dev/null 2>&1)
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	# A binary killed mid-line must not glue the marker onto its output.
	echo
	echo "=== VIGIL-VM END $pkg rc=$rc seconds=$(echo "$end $start" | awk '{printf "%.1f", $1-$2}')"
done < /vm/manifest

echo "=== VIGIL-VM DMESG"
dmesg | grep -iE 'warn|bug|error|fail|call trace|bpf|lsm' | tail -n 60
echo "=== VIGIL-VM DONE"
sync
poweroff -f
