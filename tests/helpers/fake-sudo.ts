/**
 * A stand-in for sudo/dzdo on the test sshd's PATH (no real sudo prompts root): it reads the
 * options proxyhub passes (`-S`, `-p <prompt>`, `-n`, `-u <user>`), asks for the password with the
 * prompt on stderr and reads it from stdin one line at a time as `sudo -S` does, three tries, then
 * runs the command. With no password it never prompts, like a NOPASSWD rule or cached credentials.
 */
import { quote } from '../../workers/rex/remote-command.ts';

export function fakeSudo(password: string | undefined): string {
  return `#!/bin/sh
expected=${password === undefined ? "''" : quote(password)}
prompt='Password: '
nonInteractive=no
while [ $# -gt 0 ]; do
  case "$1" in
    -S) shift ;;
    -n) nonInteractive=yes; shift ;;
    -p) prompt="$2"; shift 2 ;;
    -u) shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ -z "$expected" ] && exec "$@"
if [ "$nonInteractive" = yes ]; then echo "sudo: a password is required" >&2; exit 1; fi
tries=0
while [ "$tries" -lt 3 ]; do
  printf '%s' "$prompt" >&2
  IFS= read -r answer || { echo "sudo: no password was provided" >&2; exit 1; }
  [ "$answer" = "$expected" ] && exec "$@"
  echo 'Sorry, try again.' >&2
  tries=$((tries + 1))
done
echo 'sudo: 3 incorrect password attempts' >&2
exit 1
`;
}
