
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
