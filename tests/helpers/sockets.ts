/**
 * The TCP connections a process holds, read from /proc (Linux): for asserting which peers a
 * role talks to.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface TcpSocket {
  readonly localPort: number;
  readonly remotePort: number;
  /** 'LISTEN', 'ESTABLISHED', ... */
  readonly state: string;
}

const STATES: Record<string, string> = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '06': 'TIME_WAIT', '08': 'CLOSE_WAIT', '0A': 'LISTEN' };

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      /* the descriptor closed while we looked */
    }
  }
  return inodes;
}

export function tcpSocketsOf(pid: number): TcpSocket[] {
  const inodes = socketInodes(pid);
  const sockets: TcpSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [, local, remote, state, , , , , , inode] = fields;
      if (!local || !remote || !state || !inode || !inodes.has(inode)) continue;
      sockets.push({ localPort: parseInt(local.split(':')[1] ?? '0', 16), remotePort: parseInt(remote.split(':')[1] ?? '0', 16), state: STATES[state] ?? state });
    }
  }
  return sockets;
}
