#!/bin/sh
# /init of the e2e VM (busybox ash, PID 1). Delivered by run-vm.sh in the
# overlay cpio together with /e2e/lib.sh, /e2e/params.sh and /e2e/scenarios/.
# Sets up the guest (modules, network, iscsid), runs every scenario under a
# timeout, prints E2E-* lines on the serial console and powers off. It must
# never return: PID 1 exiting panics the kernel (run-vm.sh boots with panic=1
# and -no-reboot, so even that ends the VM).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/lock/iscsi /var/lock /var/lib/iscsi /etc/iscsi/nodes /etc/iscsi/send_targets /etc/iscsi/ifaces

. /e2e/params.sh
. /e2e/lib.sh

# Last line of defence inside the guest (the host also runs qemu under timeout).
( sleep "${E2E_GUEST_TIMEOUT:-600}"; echo "E2E-RESULT guest-watchdog FAIL guest ran longer than ${E2E_GUEST_TIMEOUT:-600}s"; poweroff -f ) &

echo "E2E-BOOTED kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"

KVER=$(uname -r)
for m in $(cat /lib/modules/$KVER/modules.load); do
  insmod /lib/modules/$KVER/$m.ko 2>/tmp/insmod.err || e2e_log "insmod $m: $(cat /tmp/insmod.err)"
done

ip link set lo up
nic=
for _ in 1 2 3 4 5 6 7 8 9 10; do
  for n in /sys/class/net/*; do
    n=${n##*/}
    [ "$n" = lo ] && continue
    nic=$n
    break
  done
  [ -n "$nic" ] && break
  sleep 0.5
done
if [ -z "$nic" ]; then
  echo "E2E-RESULT setup FAIL no network interface"
  poweroff -f
fi
ip link set "$nic" up
ip addr add 10.0.2.15/24 dev "$nic"
ip route add default via 10.0.2.2

# open-iscsi: one initiator name per boot, our own iscsid in the foreground.
echo "InitiatorName=${E2E_INITIATOR:-iqn.2025-01.pub.scsipub.e2e:guest}" >/etc/iscsi/initiatorname.iscsi
sed -i \
  -e 's|^iscsid.startup = .*|iscsid.startup = /usr/sbin/iscsid|' \
  -e 's|^node.startup = .*|node.startup = manual|' \
  -e 's|^node.session.initial_login_retry_max = .*|node.session.initial_login_retry_max = 2|' \
  -e 's|^node.session.timeo.replacement_timeout = .*|node.session.timeo.replacement_timeout = 20|' \
  /etc/iscsi/iscsid.conf
iscsid -f -d "${E2E_ISCSID_DEBUG:-0}" >/tmp/iscsid.log 2>&1 &
for _ in $(seq 1 50); do
  iscsiadm -m session >/dev/null 2>&1 && break
  # "No active sessions" (exit 21) also means iscsid answered.
  [ $? -eq 21 ] && break
  sleep 0.1
done
echo "E2E-READY portal=$E2E_PORTAL nic=$nic uptime=$(cut -d' ' -f1 /proc/uptime)"

for s in /e2e/scenarios/*.sh; do
  [ -f "$s" ] || continue
  name=$(basename "$s" .sh)
  : >/tmp/e2e-fails
  echo "E2E-SCENARIO $name start uptime=$(cut -d' ' -f1 /proc/uptime)"
  timeout "${E2E_SCENARIO_TIMEOUT:-240}" sh "$s" </dev/null >/tmp/scenario.out 2>&1
  rc=$?
  # Scenario output is already on the console through e2e_* helpers writing
  # to /dev/console; the captured stdout/stderr is shown only on failure.
  if [ $rc -ne 0 ]; then
    if [ $rc -eq 143 ] || [ $rc -eq 124 ]; then
      echo "E2E-RESULT $name FAIL timed out after ${E2E_SCENARIO_TIMEOUT:-240}s"
    elif [ ! -s /tmp/e2e-fails ]; then
      echo "E2E-RESULT $name FAIL scenario exited $rc"
    fi
    sed 's/^/E2E-LOG | /' /tmp/scenario.out | tail -n 40
    echo "E2E-LOG iscsid log tail:"
    tail -n 20 /tmp/iscsid.log | sed 's/^/E2E-LOG | /'
    dmesg | tail -n 20 | sed 's/^/E2E-LOG dmesg | /'
  fi
  echo "E2E-SCENARIO $name end rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
  # Leave no session behind for the next scenario.
  iscsiadm -m node --logoutall=all >/dev/null 2>&1
  iscsiadm -m node -o delete >/dev/null 2>&1
done

echo "E2E-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
sleep 5
