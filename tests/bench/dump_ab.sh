#!/bin/sh
# Two lvstop binaries' dump, dump --json and save side by side with ipvsadm at
# 1000 services x 10 DR realservers, in one lab VM boot: 10 runs each, three
# rounds interleaved, wall time per run (whole processes, from copies on the
# VM's tmpfs), and whether both print the same. Run from the checkout:
#   cargo build --release && cp target/release/lvstop /tmp/lv_new   (and an older build as /tmp/lv_old)
#   target/release/lvstop lab --realservers 1 --services 1 --no-ipv6 --rate 0.1 \
#       --run "sh $PWD/tests/bench/dump_ab.sh /tmp/lv_old /tmp/lv_new"
set -e
OLD=$1 NEW=$2
unset LVSTOP_CONFIG
ip link add d0 type dummy && ip addr add 198.51.100.1/24 dev d0 && ip link set d0 up
i=1; : > /tmp/rules
while [ $i -le 1000 ]; do
    echo "-A -t 203.0.113.1:$i -s wlc" >> /tmp/rules
    d=1; while [ $d -le 10 ]; do echo "-a -t 203.0.113.1:$i -r 198.51.100.$((10+d)):$i -g -w $d" >> /tmp/rules; d=$((d+1)); done
    i=$((i+1))
done
ipvsadm -C; ipvsadm -R < /tmp/rules
mkdir -p /tmp/ab; cp "$OLD" /tmp/ab/old; cp "$NEW" /tmp/ab/new
for b in old new; do /tmp/ab/$b dump > /tmp/ab/$b.txt; /tmp/ab/$b dump --json > /tmp/ab/$b.json; /tmp/ab/$b save > /tmp/ab/$b.save; done
for f in txt json save; do cmp -s /tmp/ab/old.$f /tmp/ab/new.$f && echo "same $f" || echo "DIFFERENT $f"; done
tw() { s=$(date +%s%N); for i in 1 2 3 4 5 6 7 8 9 10; do "$@" >/dev/null; done; e=$(date +%s%N); echo "$(( (e-s)/10000000 )) ms per run: $*"; }
for r in 1 2 3; do
    tw ipvsadm -L -n --stats --exact
    for b in old new; do tw /tmp/ab/$b dump --json; tw /tmp/ab/$b save; tw /tmp/ab/$b dump; done
done
