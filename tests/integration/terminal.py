"""Runs a command with no terminal at all, or with a terminal of its own that
answers one MFA prompt, so the tests can drive `ecs-run-local` and the AWS
CLI as a user at a terminal would (and never the terminal `cargo test` may
have).

    terminal.py -- CMD ARGS...                              # no terminal
    terminal.py --answer CODE --transcript FILE -- CMD ARGS...

The command's standard streams are this script's; with --answer, its
controlling terminal is a pseudo-terminal whose output (the prompt) goes to
FILE, and CODE is typed once `Enter MFA code for …: ` shows. The exit status
is the command's.
"""

import os
import select
import subprocess
import sys
import time

PROMPT = b"Enter MFA code for "


def main():
    args = sys.argv[1:]
    answer = transcript = None
    while args and args[0] != "--":
        if args[0] == "--answer":
            answer = args[1]
        elif args[0] == "--transcript":
            transcript = args[1]
        else:
            sys.exit(f"terminal.py: unknown option {args[0]}")
        args = args[2:]
    command = args[1:]
    if answer is None:
        # A session of its own has no controlling terminal.
        os.setsid()
        os.execvp(command[0], command)

    master, slave = os.openpty()
    slave_name = os.ttyname(slave)

    def take_the_terminal():
        os.setsid()
        # The first terminal a session leader opens becomes its controlling one.
        os.close(os.open(slave_name, os.O_RDWR))

    child = subprocess.Popen(command, preexec_fn=take_the_terminal)
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every end of the terminal is closed
                data = b""
            seen += data
            if not data and child.poll() is not None:
                break
        elif child.poll() is not None:
            break
        if not answered and PROMPT in seen and seen.endswith(b": "):
            os.write(master, answer.encode() + b"\n")
            answered = True
    else:
        child.kill()
    with open(transcript, "wb") as out:
        out.write(seen)
    code = child.wait()
    sys.exit(code if code >= 0 else 128 - code)


main()
