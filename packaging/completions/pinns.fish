# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pinns_global_optspecs
    string join \n d/dir= f/filename= s/sysctl= u/uts= i/ipc= n/net= U/user= c/cgroup= m/mnt= mnt-propagation= uid-mapping= gid-mapping= h/help V/version
end

function __fish_pinns_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pinns_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pinns_using_subcommand
    set -l cmd (__fish_pinns_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pinns -n "__fish_pinns_needs_command" -s d -l dir -d 'Directory to pin under: each namespace goes to DIR/<type>ns/NAME' -r -F
complete -c pinns -n "__fish_pinns_needs_command" -s f -l filename -d 'Pin name, one path component (CRI-O passes the sandbox\'s UUID)' -r
complete -c pinns -n "__fish_pinns_needs_command" -s s -l sysctl -d 'Namespaced sysctl to set inside the new namespaces (repeatable)' -r
complete -c pinns -n "__fish_pinns_needs_command" -s u -l uts -d 'Pin a UTS namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_needs_command" -s i -l ipc -d 'Pin an IPC namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_needs_command" -s n -l net -d 'Pin a network namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_needs_command" -s U -l user -d 'Pin a user namespace; a new one needs --uid-mapping and --gid-mapping' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_needs_command" -s c -l cgroup -d 'Pin a cgroup namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_needs_command" -s m -l mnt -d 'Pin a mount namespace; DIR/mntns is made an unbindable mount first' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_needs_command" -l mnt-propagation -d 'With a new --mnt: propagation of its mounts. `unchanged` keeps the host\'s (as CRI-O\'s helper does); `slave` lets host mounts in but keeps the namespace\'s own mounts out of the host (kubens)' -r -f -a "unchanged\t'Keep the propagation copied from the caller\'s mounts'
slave\t'Receive the host\'s mounts, send none back'
private\t'Neither receive nor send mounts'
shared\t'Receive and send mounts'"
complete -c pinns -n "__fish_pinns_needs_command" -l uid-mapping -d 'uid mapping of a new user namespace: CTR-HOST-SIZE ranges joined by \'@\'' -r
complete -c pinns -n "__fish_pinns_needs_command" -l gid-mapping -d 'gid mapping of a new user namespace: CTR-HOST-SIZE ranges joined by \'@\'' -r
complete -c pinns -n "__fish_pinns_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_needs_command" -s V -l version -d 'Print version'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "pin" -d 'Pin namespaces (the same as giving the pin options without a subcommand)'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "enter" -d 'Run a command in a pod\'s namespaces, on CPUs its latency-sensitive tasks do not use'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "cleanup" -d 'Remove a pod\'s pins, sweep orphaned pins and empty leaked cgroups'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "list" -d 'List the pins under DIR: one row per pin name'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "inspect" -d 'Show everything about one pod\'s pins'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s d -l dir -d 'Directory to pin under: each namespace goes to DIR/<type>ns/NAME' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s f -l filename -d 'Pin name, one path component (CRI-O passes the sandbox\'s UUID)' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s s -l sysctl -d 'Namespaced sysctl to set inside the new namespaces (repeatable)' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s u -l uts -d 'Pin a UTS namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s i -l ipc -d 'Pin an IPC namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s n -l net -d 'Pin a network namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s U -l user -d 'Pin a user namespace; a new one needs --uid-mapping and --gid-mapping' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s c -l cgroup -d 'Pin a cgroup namespace (new, or the caller\'s with =host)' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s m -l mnt -d 'Pin a mount namespace; DIR/mntns is made an unbindable mount first' -r -f -a "host\t'Pin the caller\'s own namespace of this type'
new\t'Create a new namespace (the same as giving the flag without a value)'"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l mnt-propagation -d 'With a new --mnt: propagation of its mounts. `unchanged` keeps the host\'s (as CRI-O\'s helper does); `slave` lets host mounts in but keeps the namespace\'s own mounts out of the host (kubens)' -r -f -a "unchanged\t'Keep the propagation copied from the caller\'s mounts'
slave\t'Receive the host\'s mounts, send none back'
private\t'Neither receive nor send mounts'
shared\t'Receive and send mounts'"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l uid-mapping -d 'uid mapping of a new user namespace: CTR-HOST-SIZE ranges joined by \'@\'' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l gid-mapping -d 'gid mapping of a new user namespace: CTR-HOST-SIZE ranges joined by \'@\'' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s d -l dir -d 'Directory the pins are under (CRI-O\'s namespaces_dir)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s t -l pid -d 'Join the namespaces of a running process (by default: user if not ours, cgroup, ipc, uts, net, pid, mnt)' -r
complete -c pinns -n "__fish_pinns_using_subcommand enter" -l pod -d 'Join a CRI pod sandbox (ID or name), resolved with `crictl inspectp`' -r
complete -c pinns -n "__fish_pinns_using_subcommand enter" -l cpus -d 'Run on exactly these CPUs (kernel list format, e.g. 0-1,4); refused if one is isolated, nohz_full or used by a real-time task of the pod' -r
complete -c pinns -n "__fish_pinns_using_subcommand enter" -l avoid-cpus -d 'Never run on these CPUs (e.g. the pods\' exclusive CPUs)' -r
complete -c pinns -n "__fish_pinns_using_subcommand enter" -l nice -d 'Nice value of the command (-20 to 19)' -r
complete -c pinns -n "__fish_pinns_using_subcommand enter" -l caps -d 'Run the command with only these capabilities (e.g. cap_net_raw,cap_sys_ptrace, or none): the others leave its bounding, effective, permitted, inheritable and ambient sets, and no_new_privs is set, so it can look at a production pod without the power to change it. Default: pinns\' own capabilities, as nsenter gives' -r
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s n -l net -d 'Join only the network namespace (selection flags combine)'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s i -l ipc -d 'Join only the IPC namespace (selection flags combine)'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s u -l uts -d 'Join only the UTS namespace (selection flags combine)'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s U -l user -d 'Join only the user namespace (selection flags combine)'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s m -l mnt -d 'Join only the mount namespace (selection flags combine)'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s c -l cgroup -d 'Join only the cgroup namespace (selection flags combine)'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s p -l pidns -d 'Join only the PID namespace (selection flags combine; `--pid` names the target process)'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -l allow-isolated -d 'Accept isolated, nohz_full and real-time-occupied CPUs in --cpus'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s v -l verbose -d 'Print the namespaces joined, the chosen CPUs and why others were excluded'
complete -c pinns -n "__fish_pinns_using_subcommand enter" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -s d -l dir -d 'Directory the pins are under (DIR/<type>ns/NAME; CRI-O\'s namespaces_dir)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -s f -l filename -d 'Remove every pin of this name, whether or not processes still use it' -r
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l cgroups -d 'Remove empty leaked pod/container cgroups below ROOT (repeatable)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l older-than -d 'Only pins at least this old are orphans (30s, 10m, 10min, 1h30m, 2d)' -r
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l keep -d 'Never treat this pin name, pod UID or container ID as an orphan (repeatable)' -r
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l keep-file -d 'Keep every name in FILE (one per line; blank lines and # comments ignored)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l runtime-endpoint -d 'CRI endpoint crictl asks [default: $CONTAINER_RUNTIME_ENDPOINT or crictl\'s config when set, else unix:///var/run/crio/crio.sock]' -r
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l crictl -d 'The crictl binary that asks the runtime' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l interval -d 'Sweep again every DURATION until SIGINT or SIGTERM (then exit 0 after the current sweep)' -r
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l metrics-file -d 'After each sweep, write its figures to PATH as a node_exporter textfile (replaced atomically; end the name in .prom)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l orphans -d 'Remove orphaned pins under DIR'
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l no-runtime -d 'The node runs no CRI runtime: sweep without asking one (otherwise the runtime is asked which sandboxes exist, and a sweep that cannot ask it removes nothing)'
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l keep-from-crictl -d 'Accepted for compatibility: asking the runtime is now the default'
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l dry-run -d 'Report what would be removed; remove nothing'
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l json -d 'Print the report as one JSON object per sweep'
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_using_subcommand list" -s d -l dir -d 'Directory the pins are under (CRI-O\'s namespaces_dir)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand list" -l older-than -d 'Only pins at least this old are orphans (30s, 10m, 10min, 1h30m, 2d)' -r
complete -c pinns -n "__fish_pinns_using_subcommand list" -l keep -d 'Never treat this pin name, pod UID or container ID as an orphan (repeatable)' -r
complete -c pinns -n "__fish_pinns_using_subcommand list" -l keep-file -d 'Keep every name in FILE (one per line; blank lines and # comments ignored)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand list" -l runtime-endpoint -d 'CRI endpoint crictl asks [default: $CONTAINER_RUNTIME_ENDPOINT or crictl\'s config when set, else unix:///var/run/crio/crio.sock]' -r
complete -c pinns -n "__fish_pinns_using_subcommand list" -l crictl -d 'The crictl binary that asks the runtime' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand list" -l metrics-file -d 'Also write the pins by state to PATH as a node_exporter textfile (replaced atomically; end the name in .prom)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand list" -l no-runtime -d 'The node runs no CRI runtime: sweep without asking one (otherwise the runtime is asked which sandboxes exist, and a sweep that cannot ask it removes nothing)'
complete -c pinns -n "__fish_pinns_using_subcommand list" -l keep-from-crictl -d 'Accepted for compatibility: asking the runtime is now the default'
complete -c pinns -n "__fish_pinns_using_subcommand list" -l json -d 'Print JSON instead of a table'
complete -c pinns -n "__fish_pinns_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_using_subcommand inspect" -s d -l dir -d 'Directory the pins are under (CRI-O\'s namespaces_dir)' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand inspect" -l json -d 'Print JSON'
complete -c pinns -n "__fish_pinns_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'

# Hand-written (packaging/completions/dynamic/pinns.fish), appended to what
# clap generates: pin names where a pin name goes, read from DIR/<type>ns/
# with DIR the line's -d/--dir or CRI-O's /var/run; a few durations.
function __pinns_pin_names
    set -l dir /var/run
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case -d --dir
                set -l next (math $i + 1)
                set -q tokens[$next]; and set dir $tokens[$next]
            case '--dir=*'
                set dir (string replace -- --dir= '' $tokens[$i])
        end
    end
    for f in $dir/{net,ipc,uts,user,cgroup,mnt}ns/*
        basename $f
    end | sort -u
end
complete -c pinns -n "__fish_pinns_using_subcommand enter; or __fish_pinns_using_subcommand inspect" -f -a "(__pinns_pin_names)"
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -s f -l filename -x -a "(__pinns_pin_names)"
complete -c pinns -n "__fish_pinns_using_subcommand cleanup; or __fish_pinns_using_subcommand list" -l keep -x -a "(__pinns_pin_names)"
complete -c pinns -n "__fish_pinns_using_subcommand cleanup; or __fish_pinns_using_subcommand list" -l older-than -x -a "30s 10m 30m 1h 6h 1d"
complete -c pinns -n "__fish_pinns_using_subcommand cleanup" -l interval -x -a "1m 5m 10m 30m 1h"
