#!/usr/bin/env bats
# pipelines/study --sshloginfile: a two-variant study run through an
# sshd of its own on 127.0.0.1 (a free high port, a host key and a user
# key made for the test), then checks that both run folders came back
# and that nothing was left in the remote work folder.

load helpers

STUDY="$REPO/pipelines/study"

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# remote CMD: run CMD through the test's sshd.
remote() {
    ssh $SSH_OPTS "$(id -un)@127.0.0.1" "$1"
}

setup_file() {
    local dir port
    command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] ||
        skip "no sshd (Debian package openssh-server)"
    command -v rsync >/dev/null || skip "no rsync (Debian package rsync)"
    # sshd refuses to start without its privilege separation folder,
    # which only root can create
    if [ ! -d /run/sshd ]; then
        [ "$(id -u)" -eq 0 ] || skip "/run/sshd is missing and only root can create it"
        mkdir -p /run/sshd
        chmod 755 /run/sshd
    fi

    dir=$BATS_FILE_TMPDIR/ssh
    mkdir -p "$dir"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/user_key"
    cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/user_key.pub
PidFile $dir/sshd.pid
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
EOF
    port=$(free_port)
    /usr/sbin/sshd -D -f "$dir/sshd_config" -p "$port" -E "$dir/sshd.log" \
        </dev/null >/dev/null 2>&1 3>&- &
    echo $! >"$dir/pid"

    SSH_OPTS="-F /dev/null -p $port -i $dir/user_key -o IdentitiesOnly=yes"
    SSH_OPTS="$SSH_OPTS -o BatchMode=yes -o StrictHostKeyChecking=no"
    SSH_OPTS="$SSH_OPTS -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    export SSH_OPTS
    for _ in $(seq 50); do
        remote true 2>/dev/null && break
        sleep 0.1
    done
    remote true || {
        cat "$dir/sshd.log" >&2
        false
    }
    echo "1/ssh $SSH_OPTS $(id -un)@127.0.0.1" >"$BATS_FILE_TMPDIR/hosts"
}

teardown_file() {
    local pid_file=$BATS_FILE_TMPDIR/ssh/pid
    [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
}

@test "remote: study runs through ssh" {
    cd "$BATS_TEST_TMPDIR"
    cat >pair.study <<'EOF'
column  Layers
flags   --dataset=colors --model=NLayers --nbr-epochs=2
variant one | 1 layer of 4  | --layers=4
variant two | 2 layers of 4 | --layers=4,4
EOF
    # The ssh host shares this machine's home folder, where the local
    # GNU parallel writes its own cache, ~/.parallel/tmp/sshlogin, the
    # first time it runs: that folder is not a job's leftover.
    leftovers='ls -A ~/.parallel/tmp 2>/dev/null | grep -vx sshlogin; ls -d /tmp/nnpipe-study.* 2>/dev/null'
    before=$(remote "$leftovers" | sort)

    run --separate-stderr "$STUDY" --runs-dir=out \
        --sshloginfile="$BATS_FILE_TMPDIR/hosts" pair.study
    [ "$status" -eq 0 ] || { echo "$stderr"; false; }

    # both run folders came back whole
    for id in one two; do
        [ -f "out/pair/$id/summary.json" ]
        [ -f "out/pair/$id/metrics.nn" ]
        [ -f "out/pair/$id/model.nn" ]
        [ "$(jq -r .exp_id "out/pair/$id/summary.json")" = "$id" ]
    done
    # 3072 inputs x 4 units, 4 x 3 classes, and batch normalisation's
    # scale and shift after each dense layer
    [ "$(jq .parameters out/pair/one/summary.json)" -eq 12314 ]
    [ "$(wc -l <out/pair/table.md)" -eq 4 ]
    [ -f out/pair/curves.png ]

    # each job ran on the ssh host, not on ':' (this machine)
    [ "$(awk -F'\t' 'NR > 1 && $2 ~ /127\.0\.0\.1/' out/pair/jobs.log |
         wc -l)" -eq 2 ]

    # the per-job work folders and the bundle are gone from the host
    after=$(remote "$leftovers" | sort)
    [ "$after" = "$before" ] || { echo "left: $after"; false; }
}
