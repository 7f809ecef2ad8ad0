"""declos.virt: guest images, VM domains (libvirt and plain QEMU), LANs and keys.

A library shared by the VM test harness (declos.testing) and the libvirt deployment
backend: it knows how to build and cache a bootable Debian image, give a VM its own
overlay, keys and seed, run it under libvirt or plain QEMU, and connect VMs on a VDE LAN.
"""
