#!/bin/sh
exec ssh -i /tmp/activation/vm/key -p 22517 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 root@127.0.0.1 "$@"
