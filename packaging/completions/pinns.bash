_pinns() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="pinns"
                ;;
            pinns,cleanup)
                cmd="pinns__subcmd__cleanup"
                ;;
            pinns,enter)
                cmd="pinns__subcmd__enter"
                ;;
            pinns,inspect)
                cmd="pinns__subcmd__inspect"
                ;;
            pinns,list)
                cmd="pinns__subcmd__list"
                ;;
            pinns,pin)
                cmd="pinns__subcmd__pin"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        pinns)
            opts="-d -f -s -u -i -n -U -c -m -h -V --dir --filename --sysctl --uts --ipc --net --user --cgroup --mnt --mnt-propagation --uid-mapping --gid-mapping --help --version pin enter cleanup list inspect"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -f)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sysctl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --uts)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -u)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --ipc)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -i)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --net)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -n)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -U)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --cgroup)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --mnt)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -m)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --mnt-propagation)
                    COMPREPLY=($(compgen -W "unchanged slave private shared" -- "${cur}"))
                    return 0
                    ;;
                --uid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --gid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__cleanup)
            opts="-d -f -h --dir --filename --orphans --cgroups --older-than --keep --keep-file --no-runtime --runtime-endpoint --crictl --keep-from-crictl --dry-run --json --interval --metrics-file --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -f)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cgroups)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --older-than)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --keep)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --keep-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --runtime-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --crictl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__enter)
            opts="-d -t -n -i -u -U -m -c -p -v -h --dir --pid --pod --net --ipc --uts --user --mnt --cgroup --pidns --cpus --avoid-cpus --allow-isolated --nice --caps --verbose --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -t)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pod)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cpus)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --avoid-cpus)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --nice)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --caps)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__inspect)
            opts="-d -h --dir --json --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__list)
            opts="-d -h --dir --older-than --keep --keep-file --no-runtime --runtime-endpoint --crictl --keep-from-crictl --json --metrics-file --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --older-than)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --keep)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --keep-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --runtime-endpoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --crictl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__pin)
            opts="-d -f -s -u -i -n -U -c -m -h --dir --filename --sysctl --uts --ipc --net --user --cgroup --mnt --mnt-propagation --uid-mapping --gid-mapping --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -f)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sysctl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --uts)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -u)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --ipc)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -i)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --net)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -n)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -U)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --cgroup)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --mnt)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                -m)
                    COMPREPLY=($(compgen -W "host new" -- "${cur}"))
                    return 0
                    ;;
                --mnt-propagation)
                    COMPREPLY=($(compgen -W "unchanged slave private shared" -- "${cur}"))
                    return 0
                    ;;
                --uid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --gid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _pinns -o nosort -o bashdefault -o default pinns
else
    complete -F _pinns -o bashdefault -o default pinns
fi

# Hand-written (packaging/completions/dynamic/pinns.bash), appended to what
# clap generates: pin names where a pin name goes (enter's and inspect's NAME,
# cleanup -f, --keep), read from DIR/<type>ns/ with DIR the line's -d/--dir or
# CRI-O's /var/run; a few durations after --older-than and --interval.
_pinns_pin_names() {
    local dir=/var/run i f
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -d|--dir) dir="${COMP_WORDS[i+1]}" ;;
            --dir=*) dir="${COMP_WORDS[i]#--dir=}" ;;
        esac
    done
    for f in "$dir"/{net,ipc,uts,user,cgroup,mnt}ns/*; do
        if [[ -e "$f" || -L "$f" ]]; then printf '%s\n' "${f##*/}"; fi
    done | sort -u
}

_pinns_dynamic() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local sub="${COMP_WORDS[1]}" i
    for ((i = 2; i < COMP_CWORD; i++)); do
        # After `--` comes enter's command: complete it as usual.
        [[ "${COMP_WORDS[i]}" == -- ]] && { _pinns "$@"; return; }
    done
    case "$prev" in
        --older-than)
            COMPREPLY=($(compgen -W "30s 10m 30m 1h 6h 1d" -- "$cur")); return 0 ;;
        --interval)
            COMPREPLY=($(compgen -W "1m 5m 10m 30m 1h" -- "$cur")); return 0 ;;
        --keep)
            COMPREPLY=($(compgen -W "$(_pinns_pin_names)" -- "$cur")); return 0 ;;
        -f|--filename)
            if [[ "$sub" == cleanup ]]; then
                COMPREPLY=($(compgen -W "$(_pinns_pin_names)" -- "$cur")); return 0
            fi ;;
    esac
    if [[ ("$sub" == enter || "$sub" == inspect) && "$cur" != -* && COMP_CWORD -gt 1 ]]; then
        case "$prev" in
            # Options whose value this word is.
            -d|--dir|-t|--pid|--pod|--cpus|--avoid-cpus|--nice|--caps) ;;
            *) COMPREPLY=($(compgen -W "$(_pinns_pin_names)" -- "$cur")); return 0 ;;
        esac
    fi
    _pinns "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _pinns_dynamic -o nosort -o bashdefault -o default pinns
else
    complete -F _pinns_dynamic -o bashdefault -o default pinns
fi
