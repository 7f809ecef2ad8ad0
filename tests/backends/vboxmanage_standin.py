"""A STAND-IN for VirtualBox's `VBoxManage` (VirtualBox cannot run on these machines).

Not VirtualBox: a program that accepts exactly the subcommands and options declos uses,
checked against the syntax in the VirtualBox manual (chapter "VBoxManage"), refuses
anything else with VBoxManage's own kind of message and exit 1 (unknown option, missing
argument, a VM that is not registered, a medium that does not exist, unregistering a
running VM), and keeps the VMs' state in `$VBOX_STANDIN_DIR/state.json`. Every call is
appended to `$VBOX_STANDIN_DIR/calls.log` (one JSON argv per line).

`startvm` starts a detached "guest" process that plays the guest side of NixOps' image:
when both declos guest properties (host key, client key) are set it reports an IP in
`/VirtualBox/GuestInfo/Net/0/V4/IP` and answers an SSH banner on the NAT rule's
127.0.0.1 port until the VM is powered off; on `acpipowerbutton` it shuts down after a
second. `VBOX_STANDIN_NO_BOOT=1` makes the guest never come up (for timeout tests).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DIR = Path(os.environ.get("VBOX_STANDIN_DIR", "."))
STATE = DIR / "state.json"

# Subcommand -> {option: takes a value}; the manual's syntax for what declos calls.
SYNTAX: dict[str, dict[str, bool]] = {
    "createvm": {"--name": True, "--basefolder": True, "--ostype": True, "--register": False},
    "storagectl": {
        "--name": True, "--add": True, "--portcount": True, "--bootable": True,
        "--hostiocache": True, "--controller": True,
    },
    "createmedium": {"--filename": True, "--size": True, "--diffparent": True, "--format": True},
    "storageattach": {
        "--storagectl": True, "--port": True, "--device": True, "--type": True, "--medium": True,
    },
    "modifyvm": {
        "--memory": True, "--vram": True, "--cpus": True, "--nic1": True, "--nictype1": True,
        "--natpf1": True, "--nestedpaging": True, "--paravirtprovider": True, "--ioapic": True,
    },
    "startvm": {"--type": True},
    "showvminfo": {"--machinereadable": False, "--log": True, "--details": False},
    "unregistervm": {"--delete": False},
}  # fmt: skip
CHOICES = {
    "--add": {"floppy", "ide", "pcie", "sas", "sata", "scsi", "usb"},
    "--bootable": {"on", "off"},
    "--hostiocache": {"on", "off"},
    "--format": {"VDI", "VMDK", "VHD"},
    "--type": {"gui", "headless", "sdl", "separate", "dvddrive", "fdd", "hdd"},
    "--nic1": {"none", "null", "nat", "natnetwork", "bridged", "intnet", "hostonly", "generic"},
    "--nictype1": {"Am79C970A", "Am79C973", "82540EM", "82543GC", "82545EM", "virtio"},
    "--nestedpaging": {"on", "off"},
}
NUMERIC = {"--portcount", "--size", "--port", "--device", "--memory", "--vram", "--cpus", "--log"}


class Refused(Exception):
    pass


@contextmanager
def state() -> Iterator[dict[str, Any]]:
    DIR.mkdir(parents=True, exist_ok=True)
    with open(DIR / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(STATE.read_text()) if STATE.exists() else {"vms": {}}
        yield data
        tmp = STATE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, STATE)


def parse(command: str, args: list[str], positional: int) -> tuple[list[str], dict[str, str]]:
    """Positional arguments first, then options (`--opt value` or `--opt=value`)."""
    syntax = SYNTAX[command]
    pos, opts, i = [], {}, 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name not in syntax:
                raise Refused(f"{command}: unknown option: {name}")
            if syntax[name]:
                if not eq:
                    if i + 1 >= len(args):
                        raise Refused(f"{command}: option {name} requires an argument")
                    i += 1
                    value = args[i]
                if name in CHOICES and value not in CHOICES[name]:
                    raise Refused(f"{command}: invalid {name} argument '{value}'")
                if name in NUMERIC and not value.isdigit():
                    raise Refused(f"{command}: {name}: '{value}' is not a number")
            opts[name] = value
        else:
            if opts:
                raise Refused(f"{command}: stray argument '{arg}' after options")
            pos.append(arg)
        i += 1
    if len(pos) != positional:
        raise Refused(f"{command}: expected {positional} positional argument(s), got {pos}")
    return pos, opts


def vm_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in data["vms"]:
        raise Refused(f"Could not find a registered machine named '{name}'")
    vm: dict[str, Any] = data["vms"][name]
    return vm


def createvm(args: list[str]) -> str:
    _, o = parse("createvm", args, 0)
    if "--name" not in o or "--register" not in o:
        raise Refused("createvm: --name and --register are required here")
    base = Path(o.get("--basefolder", str(DIR / "VirtualBox VMs")))
    cfg = base / o["--name"] / f"{o['--name']}.vbox"
    with state() as data:
        if o["--name"] in data["vms"]:
            raise Refused(f"Machine settings file '{cfg}' already exists")
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text("<VirtualBox/>\n")
        data["vms"][o["--name"]] = {
            "cfg": str(cfg), "state": "poweroff", "ostype": o.get("--ostype", "Other"),
            "controllers": {}, "media": {}, "props": {}, "settings": {},
        }  # fmt: skip
    return f"Virtual machine '{o['--name']}' is created and registered.\nSettings file: '{cfg}'\n"


def storagectl(args: list[str]) -> str:
    (name,), o = parse("storagectl", args, 1)
    if "--name" not in o or "--add" not in o:
        raise Refused("storagectl: --name and --add are required")
    with state() as data:
        vm_of(data, name)["controllers"][o["--name"]] = int(o.get("--portcount", "1"))
    return ""


def createmedium(args: list[str]) -> str:
    if args[:1] != ["disk"]:
        raise Refused("createmedium: the medium kind must be 'disk' here")
    _, o = parse("createmedium", args[1:], 0)
    if "--filename" not in o or ("--size" in o) == ("--diffparent" in o):
        raise Refused("createmedium: --filename and exactly one of --size, --diffparent")
    path = Path(o["--filename"])
    if path.exists():
        raise Refused(f"Failed to create medium: '{path}' already exists")
    if "--diffparent" in o and not Path(o["--diffparent"]).is_file():
        raise Refused(f"Could not find file for the medium '{o['--diffparent']}'")
    path.write_text(json.dumps({"parent": o.get("--diffparent"), "size": o.get("--size")}))
    return f"Medium created. UUID: 00000000-0000-0000-0000-{abs(hash(str(path))) % 10**12:012d}\n"


def storageattach(args: list[str]) -> str:
    (name,), o = parse("storageattach", args, 1)
    with state() as data:
        vm = vm_of(data, name)
        ctl = o.get("--storagectl", "")
        if ctl not in vm["controllers"]:
            raise Refused(f"Could not find a controller named '{ctl}'")
        if int(o.get("--port", "0")) >= vm["controllers"][ctl]:
            raise Refused(f"The port {o.get('--port')} is out of range for controller '{ctl}'")
        if not Path(o.get("--medium", "")).is_file():
            raise Refused(f"Could not find file for the medium '{o.get('--medium')}'")
        vm["media"][f"{ctl}-{o.get('--port', '0')}-{o.get('--device', '0')}"] = o["--medium"]
    return ""


def modifyvm(args: list[str]) -> str:
    (name,), o = parse("modifyvm", args, 1)
    pf = o.get("--natpf1")
    if pf is not None:
        fields = pf.split(",")
        if len(fields) != 6 or fields[1] not in ("tcp", "udp") or not fields[3].isdigit():
            raise Refused(
                f"modifyvm: invalid NAT rule '{pf}' (name,tcp|udp,hostip,hostport,guestip,guestport)"
            )
    with state() as data:
        vm = vm_of(data, name)
        if vm["state"] != "poweroff":
            raise Refused(
                f"The machine '{name}' is already locked for a session (or being unlocked)"
            )
        vm["settings"].update(o)
    return ""


def guestproperty(args: list[str]) -> str:
    if len(args) < 3 or args[0] not in ("get", "set"):
        raise Refused("guestproperty: get|set <vm> <property> [value]")
    verb, name, prop = args[0], args[1], args[2]
    with state() as data:
        vm = vm_of(data, name)
        if verb == "get":
            value = vm["props"].get(prop)
            return f"Value: {value}\n" if value else "No value set!\n"
        if len(args) > 4:
            raise Refused("guestproperty set: too many arguments")
        if len(args) == 4 and args[3]:
            vm["props"][prop] = args[3]
        else:
            vm["props"].pop(prop, None)
    return ""


def startvm(args: list[str]) -> str:
    (name,), o = parse("startvm", args, 1)
    with state() as data:
        vm = vm_of(data, name)
        if vm["state"] != "poweroff":
            raise Refused(
                f"The machine '{name}' is already locked by a session (or being locked or unlocked)"
            )
        if o.get("--type", "gui") not in ("gui", "headless", "sdl", "separate"):
            raise Refused(f"startvm: invalid --type '{o.get('--type')}'")
        vm["state"] = "running"
        vm["log"] = [f"VirtualBox VM (stand-in) starting {name}, type {o.get('--type', 'gui')}"]
    if os.fork() == 0:  # the "guest", detached
        os.setsid()
        if os.fork() == 0:
            guest(name)
        os._exit(0)
    return f'Waiting for VM "{name}" to power on...\nVM "{name}" has been successfully started.\n'


def guest(name: str) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    time.sleep(1.0)
    with state() as data:
        vm = data["vms"].get(name)
        if vm is None:
            os._exit(0)
        keys = all(p in vm["props"] for p in KEY_PROPS)
        vm["log"].append("guest: declos key properties " + ("found" if keys else "MISSING"))
        port = int(vm["settings"].get("--natpf1", ",,,0,,").split(",")[3])
        if keys and not os.environ.get("VBOX_STANDIN_NO_BOOT"):
            vm["props"]["/VirtualBox/GuestInfo/Net/0/V4/IP"] = "10.0.2.15"
    listener = None
    born = time.monotonic()
    if keys and not os.environ.get("VBOX_STANDIN_NO_BOOT"):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(8)
        listener.settimeout(0.2)
    while True:
        with state() as data:
            vm = data["vms"].get(name)
            if vm is None or vm["state"] == "poweroff" or time.monotonic() - born > 600:
                os._exit(0)
            if vm.get("acpi"):
                vm.pop("acpi")
                vm["log"].append("guest: ACPI power button: shutting down")
                vm["shutdown_at"] = time.time() + 1.0
            off = bool(vm.get("shutdown_at")) and time.time() >= vm["shutdown_at"]
            if off:
                vm["state"] = "poweroff"
                vm.pop("shutdown_at")
                vm["props"].pop("/VirtualBox/GuestInfo/Net/0/V4/IP", None)
        if off:  # (after the block, so the state is written)
            os._exit(0)
        if listener is None:
            time.sleep(0.2)
            continue
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 standin-guest\r\n")
        conn.close()


KEY_PROPS = (
    "/VirtualBox/GuestInfo/Declos/PrivateHostEd25519Key",
    "/VirtualBox/GuestInfo/Declos/ClientPublicKey",
)


def controlvm(args: list[str]) -> str:
    if len(args) != 2 or args[1] not in ("acpipowerbutton", "poweroff"):
        raise Refused("controlvm: <vm> acpipowerbutton|poweroff (the subset declos uses)")
    with state() as data:
        vm = vm_of(data, args[0])
        if vm["state"] != "running":
            raise Refused(f"Machine '{args[0]}' is not currently running")
        if args[1] == "poweroff":
            vm["state"] = "poweroff"
            vm["props"].pop("/VirtualBox/GuestInfo/Net/0/V4/IP", None)
        else:
            vm["acpi"] = True
    return ""


def showvminfo(args: list[str]) -> str:
    (name,), o = parse("showvminfo", args, 1)
    with state() as data:
        vm = vm_of(data, name)
        if "--log" in o:
            return "\n".join(vm.get("log", [])) + "\n"
        lines = [f'name="{name}"', f'ostype="{vm["ostype"]}"', f'CfgFile="{vm["cfg"]}"']
        lines.append(f'VMState="{vm["state"]}"')
        lines += [f'"{k}"="{v}"' for k, v in sorted(vm["media"].items())]
        lines += [f'{k.lstrip("-")}="{v}"' for k, v in sorted(vm["settings"].items())]
    return "\n".join(lines) + "\n"


def unregistervm(args: list[str]) -> str:
    (name,), o = parse("unregistervm", args, 1)
    with state() as data:
        vm = vm_of(data, name)
        if vm["state"] != "poweroff":
            raise Refused(f"Cannot unregister the machine '{name}' while it is locked")
        if "--delete" in o:
            for medium in vm["media"].values():
                Path(medium).unlink(missing_ok=True)
            Path(vm["cfg"]).unlink(missing_ok=True)
        del data["vms"][name]
    return ""


COMMANDS = {
    "createvm": createvm, "storagectl": storagectl, "createmedium": createmedium,
    "storageattach": storageattach, "modifyvm": modifyvm, "guestproperty": guestproperty,
    "startvm": startvm, "controlvm": controlvm, "showvminfo": showvminfo,
    "unregistervm": unregistervm,
}  # fmt: skip


def main(argv: list[str]) -> int:
    DIR.mkdir(parents=True, exist_ok=True)
    with open(DIR / "calls.log", "a") as log:
        log.write(json.dumps(argv) + "\n")
    if not argv or argv[0] not in COMMANDS:
        print(f"VBoxManage: error: Invalid command '{argv[0] if argv else ''}'", file=sys.stderr)
        return 1
    try:
        sys.stdout.write(COMMANDS[argv[0]](argv[1:]))
    except Refused as exc:
        print(f"VBoxManage: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
