/**
 * The shell commands a push job runs on its target, built in one place: upload the script into
 * its own directory, run it (through the effective-user method), stop it, clean up. Every value
 * that reaches a command line is single-quoted.
 */
export const quote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

export interface CommandSettings {
  readonly directory: string;
  readonly sshUser: string;
  readonly effectiveUser: string | undefined;
  readonly method: 'sudo' | 'dzdo' | 'su';
  /**
   * With a password, sudo/dzdo show this prompt and read the password from stdin (`-S`), and
   * the script reads nothing from there; without, they must not prompt (`-n`).
   */
  readonly passwordPrompt: string | undefined;
}

/** Whether the script runs as another user than the SSH login. */
export const switchesUser = (settings: Pick<CommandSettings, 'effectiveUser' | 'sshUser'>): boolean =>
  settings.effectiveUser !== undefined && settings.effectiveUser !== '' && settings.effectiveUser !== settings.sshUser;

/** Whether sudo/dzdo will be started to ask for the password (see password-prompt.ts). */
export const promptsForPassword = (settings: CommandSettings): boolean => settings.passwordPrompt !== undefined && switchesUser(settings) && settings.method !== 'su';

/** Prefix that runs a command as the effective user (empty when no switch is needed). */
function asEffectiveUser(settings: CommandSettings, command: string): string {
  if (!switchesUser(settings)) return command;
  const user = quote(settings.effectiveUser as string);
  if (settings.method === 'su') return `su - ${user} -s /bin/sh -c ${quote(command)}`;
  if (!promptsForPassword(settings)) return `${settings.method} -n -u ${user} -- sh -c ${quote(command)}`;
  // stdin carries the password to sudo; the script gets none of it, whatever sudo leaves unread.
  return `${settings.method} -S -p ${quote(settings.passwordPrompt as string)} -u ${user} -- sh -c ${quote(`${command} </dev/null`)}`;
}

const script = (settings: CommandSettings): string => `${settings.directory}/script`;

/** Reads the script from stdin into a private directory. */
export function uploadCommand(settings: CommandSettings): string {
  const dir = quote(settings.directory);
  // The effective user must be able to enter the directory and read the script.
  const mode = switchesUser(settings) ? '755' : '700';
  return `umask 077 && mkdir -p ${dir} && cat > ${quote(script(settings))} && chmod ${mode} ${dir} ${quote(script(settings))}`;
}

/**
 * sshd makes each session's shell a session (and process-group) leader, so the pid written here
 * names the group that the script and everything it starts belong to: killing it stops them all.
 */
export function runCommand(settings: CommandSettings): string {
  return `echo $$ > ${quote(`${settings.directory}/pid`)}; ${asEffectiveUser(settings, quote(script(settings)))}`;
}

/** TERM the script's process group, KILL it if it is still there 5 s later. */
export function killCommand(settings: CommandSettings): string {
  const pid = quote(`${settings.directory}/pid`);
  const kill = (signal: string): string => `kill -${signal} -- -$(cat ${pid}) 2>/dev/null`;
  const attempt = (signal: string): string => (switchesUser(settings) && settings.method !== 'su' ? `${kill(signal)} || ${settings.method} -n sh -c ${quote(kill(signal))}` : kill(signal));
  return `${attempt('TERM')}; sleep 5; ${attempt('KILL')}; true`;
}

export function cleanupCommand(settings: CommandSettings): string {
  return `rm -rf ${quote(settings.directory)}`;
}
