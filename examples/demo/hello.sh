#!/bin/sh
# Runs inside the demo container and shows what corral set up.
echo "Hello from inside a corral container!"
echo
echo "  hostname:     $(hostname)"
echo "  I am:         $(id)"
echo "  my pid:       $$ (pid 1: the first process of a new pid namespace)"
echo "  processes:    $(ls -d /proc/[0-9]* | wc -l) visible (only this container's)"
echo "  network:      $(ls /sys/class/net | tr '\n' ' ')(a private network namespace)"
echo "  root (/):     $(ls / | tr '\n' ' ')"
if touch /probe 2>/dev/null; then echo "  root is:      writable"; else echo "  root is:      read-only"; fi
echo
echo "Exiting with status 0; corral exits with it too."
