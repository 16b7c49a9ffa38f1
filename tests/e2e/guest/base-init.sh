#!/bin/sh
# Fallback /init baked into the cached initramfs. run-vm.sh appends a second
# cpio archive whose /init (tests/e2e/guest/init.sh) replaces this one; if
# you see this message, that overlay was not loaded.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
echo "E2E-RESULT boot FAIL no-e2e-overlay-initramfs"
poweroff -f
