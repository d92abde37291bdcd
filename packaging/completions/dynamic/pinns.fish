
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
