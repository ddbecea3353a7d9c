#!/usr/bin/env python3
"""The bash completion offers exactly the commands and flags arbiterctl's help lists.

  test_completion.py ARBITERCTL COMPLETION_SCRIPT

Runs the completion function in bash the way readline would (COMP_WORDS, COMP_CWORD) and
compares what it offers with `arbiterctl --help` (commands, subcommands) and with each
command's --help (every --flag it mentions), so that neither can change without the other.
"""
import re
import subprocess
import sys

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def complete(script: str, words: list[str]) -> set[str]:
    """What _arbiterctl offers when the cursor is on the last of WORDS."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    prog = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
            "_arbiterctl; printf '%s\\n' \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], check=True,
                         capture_output=True, text=True).stdout
    return {w for w in out.split("\n") if w}


def helptext(ctl: str, *args: str) -> str:
    r = subprocess.run([ctl, *args, "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"arbiterctl {' '.join(args)} --help: exit {r.returncode}: {r.stderr}")
    return r.stdout


def main() -> int:
    ctl, script = sys.argv[1], sys.argv[2]
    failures = []

    def same(what: str, offered: set[str], expected: set[str]) -> None:
        if offered != expected:
            failures.append(f"{what}: completion offers {sorted(offered)}, help says "
                            f"{sorted(expected)} (missing {sorted(expected - offered)}, "
                            f"extra {sorted(offered - expected)})")

    # "Commands:" lines: two spaces, the command, its usage; review and audit name their
    # subcommands as "review claim|decide|reclaim".
    top = helptext(ctl)
    commands, subs = [], {}
    in_commands = False
    for line in top.splitlines():
        if line.startswith("Commands:"):
            in_commands = True
            continue
        if in_commands:
            m = re.match(r"^  ([a-z][a-z-]*)(?: ([a-z]+(?:\|[a-z]+)+))?", line)
            if not m:
                break
            commands.append(m.group(1))
            if m.group(2):
                subs[m.group(1)] = m.group(2).split("|")
    if len(commands) < 5:
        failures.append(f"could not read the command list of arbiterctl --help: {commands}")
    same("commands", complete(script, ["arbiterctl", ""]), set(commands) | {"--help"})
    for cmd, names in subs.items():
        same(f"{cmd} subcommands", complete(script, ["arbiterctl", cmd, ""]), set(names))

    for cmd in commands:
        if cmd not in subs:
            offered = complete(script, ["arbiterctl", cmd, "--"])
            same(f"{cmd} flags", offered, set(FLAG.findall(helptext(ctl, cmd))) | {"--help"})
            continue
        # A subcommand offers at least the flags of its own usage lines and only flags
        # its help mentions; together they offer every flag the command's help mentions.
        union = set()
        for sub in subs[cmd]:
            text = helptext(ctl, cmd, sub)
            offered = complete(script, ["arbiterctl", cmd, sub, "--"])
            union |= offered
            usage, mine = text.split("\n\n", 1)[0].splitlines(), False
            own = set()
            for line in usage:
                if f"arbiterctl {cmd} " in line:
                    mine = f"arbiterctl {cmd} {sub} " in line + " "
                if mine:
                    own |= set(FLAG.findall(line))
            if not own:
                failures.append(f"{cmd} {sub}: no usage line in its --help")
            if not own <= offered:
                failures.append(f"{cmd} {sub}: completion lacks {sorted(own - offered)}")
            extra = offered - set(FLAG.findall(text)) - {"--help"}
            if extra:
                failures.append(f"{cmd} {sub}: completion offers {sorted(extra)}, "
                                "which its help does not mention")
        same(f"{cmd} flags (all subcommands)", union,
             set(FLAG.findall(helptext(ctl, cmd))) | {"--help"})

    # Values of flags that take one of a fixed set.
    for words, expected in [
        (["arbiterctl", "produce", "--format", ""], {"json", "protobuf"}),
        (["arbiterctl", "review", "decide", "--outcome", ""], {"upheld", "reversed", "modified"}),
        (["arbiterctl", "review", "decide", "--ground", ""],
         {"illegal_content", "incompatible_content"}),
    ]:
        same(" ".join(words[1:-1]) + " values", complete(script, words), expected)
    decide = helptext(ctl, "review", "decide")
    actions = complete(script, ["arbiterctl", "review", "decide", "--action", ""])
    for a in sorted(actions):
        if not re.search(rf"\b{a}\b", decide):
            failures.append(f"--action {a}: not an action review decide --help names")
    if len(actions) < 10:
        failures.append(f"--action offers {sorted(actions)}")

    for f in failures:
        print("FAIL", f)
    print(f"{len(commands)} commands checked, {len(failures)} mismatch(es)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
